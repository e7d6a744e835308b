/**
 * The disruption controller's podControllerFinders (kube's pkg/controller/disruption finders()):
 * from a pod's controller reference to the controller that decides how many such pods there
 * should be, and that number (its spec.replicas). ReplicaSets owned by a Deployment count as the
 * Deployment. Tried in kube's order: ReplicationController, Deployment, ReplicaSet, StatefulSet,
 * then any other kind with a scale subresource. A reference to an object that is gone (or was
 * replaced: another uid) finds nothing; a kind the API server does not know, or one without a
 * scale subresource, is an error (the budget then shows SyncFailed).
 */
import { type KubeObject, type OwnerReference, Registry } from "@skiff/api";
import { type ClientInterface, isNotFound, type Lister } from "@skiff/client";
import { getControllerOf } from "../util/controller-ref.js";
import type { ScalableObject } from "./types.js";

export interface ControllerAndScale {
  uid: string;
  scale: number;
}

export type PodControllerFinder = (
  ref: OwnerReference,
  namespace: string,
) => Promise<ControllerAndScale | undefined>;

export interface FinderSources {
  client: ClientInterface;
  replicaSets: Lister<ScalableObject>;
  deployments: Lister<ScalableObject>;
  statefulSets: Lister<ScalableObject>;
}

/** The kinds (and scale subresources) the API server serves: Skiff's RESTMapper. */
let kinds: Registry | undefined;

const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");

/** verifyGroupKind: the reference is to this kind in one of these groups. */
const isKind = (ref: OwnerReference, kind: string, groups: readonly string[]) =>
  ref.kind === kind && groups.includes(groupOf(ref.apiVersion) ?? "");

const replicasOf = (o: ScalableObject) => o.spec?.replicas ?? 1;

/** The cached object of that name with the reference's uid (a replaced object is another one). */
function owned(
  lister: Lister<ScalableObject>,
  namespace: string,
  ref: OwnerReference,
): ScalableObject | undefined {
  const o = lister.namespace(namespace).get(ref.name);
  return o === undefined || o.metadata.uid !== ref.uid ? undefined : o;
}

export function podControllerFinders(s: FinderSources): PodControllerFinder[] {
  const replicationController: PodControllerFinder = async (ref, ns) => {
    if (!isKind(ref, "ReplicationController", [""])) return undefined;
    // Read through the API, not an informer: Skiff's API server does not serve this legacy kind,
    // and an informer on it would never sync.
    try {
      const rc = await s.client.resource<ScalableObject>("v1", "replicationcontrollers", ns).get(ref.name);
      return rc.metadata.uid === ref.uid ? { uid: ref.uid, scale: replicasOf(rc) } : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const deployment: PodControllerFinder = async (ref, ns) => {
    if (!isKind(ref, "ReplicaSet", ["apps", "extensions"])) return undefined;
    const rs = owned(s.replicaSets, ns, ref);
    const dref = rs === undefined ? undefined : getControllerOf(rs);
    if (dref === undefined || !isKind(dref, "Deployment", ["apps", "extensions"])) return undefined;
    const d = owned(s.deployments, ns, dref);
    return d === undefined ? undefined : { uid: dref.uid, scale: replicasOf(d) };
  };
  const replicaSet: PodControllerFinder = async (ref, ns) => {
    if (!isKind(ref, "ReplicaSet", ["apps", "extensions"])) return undefined;
    const rs = owned(s.replicaSets, ns, ref);
    // A ReplicaSet of a Deployment is counted as the Deployment.
    if (rs === undefined || getControllerOf(rs)?.kind === "Deployment") return undefined;
    return { uid: ref.uid, scale: replicasOf(rs) };
  };
  const statefulSet: PodControllerFinder = async (ref, ns) => {
    if (!isKind(ref, "StatefulSet", ["apps"])) return undefined;
    const ss = owned(s.statefulSets, ns, ref);
    return ss === undefined ? undefined : { uid: ref.uid, scale: replicasOf(ss) };
  };
  return [replicationController, deployment, replicaSet, statefulSet, scaleController(s.client)];
}

/**
 * getScaleController: any other kind, if the API server serves it with a scale subresource;
 * its scale is the object's spec.replicas (what /scale reports for the built-in kinds).
 */
function scaleController(client: ClientInterface): PodControllerFinder {
  return async (ref, ns) => {
    kinds ??= new Registry();
    const def = kinds.kind(ref.apiVersion, ref.kind);
    if (def === undefined)
      throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
    if (!def.subresources.includes("scale")) {
      const gr = def.group === "" ? def.resource : `${def.resource}.${def.group}`;
      throw new Error(`${gr} does not implement the scale subresource`);
    }
    let o: KubeObject;
    try {
      o = await client.resource(ref.apiVersion, def.resource, ns).get(ref.name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (o.metadata.uid !== ref.uid) return undefined;
    return { uid: ref.uid, scale: replicasOf(o as ScalableObject) };
  };
}
