/**
 * kube's StatefulPodControl (stateful_pod_control.go): creates a pod's claims before the pod,
 * repairs a pod's identity and storage, keeps claim owners as the retention policy says, deletes
 * pods; an Event on the set for each (SuccessfulCreate "create Pod web-0 in StatefulSet web
 * successful", FailedCreate ... with the error). Reads come from the listers, writes go to the API.
 */
import type { PersistentVolumeClaim, Pod } from "@skiff/api";
import {
  type ClientInterface,
  cloneObject,
  type EventRecorder,
  isAlreadyExists,
  isConflict,
  type Lister,
} from "@skiff/client";
import { messageOf } from "../util/pod-control.js";
import {
  hasStaleOwnerRef,
  isClaimOwnerUpToDate,
  retentionPolicy,
  updateClaimOwnerRefForSetAndPod,
} from "./claims.js";
import { POD_KIND, type StatefulSet } from "./types.js";
import {
  getOrdinal,
  getPersistentVolumeClaimName,
  getPersistentVolumeClaims,
  identityMatches,
  storageMatches,
  updateIdentity,
  updateStorage,
} from "./utils.js";

/** Conflicts an update retries (retry.DefaultBackoff's steps). */
const UPDATE_RETRIES = 5;

const title = (verb: string) => verb.charAt(0).toUpperCase() + verb.slice(1);

export class StatefulPodControl {
  constructor(
    private readonly client: ClientInterface,
    private readonly podLister: Lister<Pod>,
    private readonly claimLister: Lister<PersistentVolumeClaim>,
    private readonly recorder: EventRecorder,
  ) {}

  private pods(ns: string) {
    return this.client.resource<Pod>("v1", "pods", ns);
  }

  private claims(ns: string) {
    return this.client.resource<PersistentVolumeClaim>("v1", "persistentvolumeclaims", ns);
  }

  private getClaim(ns: string, name: string): PersistentVolumeClaim | undefined {
    return this.claimLister.get(`${ns}/${name}`);
  }

  /** CreateStatefulPod: the claims first, then the pod; an existing pod is an error without event. */
  async createStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.createPersistentVolumeClaims(set, pod);
    } catch (e) {
      this.recordPodEvent("create", set, pod, e);
      throw e;
    }
    let created: Pod;
    try {
      created = await this.pods(set.metadata.namespace).create(pod);
    } catch (e) {
      if (!isAlreadyExists(e)) this.recordPodEvent("create", set, pod, e);
      throw e;
    }
    try {
      // Claim owners as far as the policy can say now.
      await this.updatePodClaimForRetentionPolicy(set, created);
    } catch (e) {
      this.recordPodEvent("update", set, pod, e);
      throw e;
    }
    this.recordPodEvent("create", set, pod, undefined);
  }

  /** UpdateStatefulPod: repairs identity, storage and claim owners; retries conflicts on a fresh read. */
  async updateStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    let attempted = false;
    let current = cloneObject(pod);
    let err: unknown;
    for (let i = 0; i < UPDATE_RETRIES; i++) {
      err = undefined;
      let consistent = true;
      if (!identityMatches(set, current)) {
        updateIdentity(set, current);
        consistent = false;
      }
      try {
        if (!storageMatches(set, current)) {
          updateStorage(set, current);
          consistent = false;
          await this.createPersistentVolumeClaims(set, current);
        }
        if (!this.claimsMatchRetentionPolicy(set, current)) {
          await this.updatePodClaimForRetentionPolicy(set, current);
          consistent = false;
        }
      } catch (e) {
        this.recordPodEvent("update", set, current, e);
        throw e;
      }
      if (consistent) return;
      attempted = true;
      try {
        await this.pods(set.metadata.namespace).update(current);
        break;
      } catch (e) {
        err = e;
        const fresh = this.podLister.get(`${set.metadata.namespace}/${current.metadata.name}`);
        if (fresh !== undefined) current = cloneObject(fresh);
        if (!isConflict(e)) break;
      }
    }
    if (attempted) this.recordPodEvent("update", set, current, err);
    if (err !== undefined) throw err;
  }

  /** DeleteStatefulPod. */
  async deleteStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.pods(set.metadata.namespace).delete(pod.metadata.name);
    } catch (e) {
      this.recordPodEvent("delete", set, pod, e);
      throw e;
    }
    this.recordPodEvent("delete", set, pod, undefined);
  }

  /** ClaimsMatchRetentionPolicy: the pod's existing claims have the owners the policy asks. */
  claimsMatchRetentionPolicy(set: StatefulSet, pod: Pod): boolean {
    const ordinal = getOrdinal(pod);
    for (const template of set.spec.volumeClaimTemplates ?? []) {
      const claim = this.getClaim(
        set.metadata.namespace,
        getPersistentVolumeClaimName(set, template, ordinal),
      );
      // A missing claim is picked up by a later sync.
      if (claim !== undefined && !isClaimOwnerUpToDate(claim, set, pod)) return false;
    }
    return true;
  }

  /** UpdatePodClaimForRetentionPolicy: rewrites the owners of the pod's claims that need it. */
  async updatePodClaimForRetentionPolicy(set: StatefulSet, pod: Pod): Promise<void> {
    const ordinal = getOrdinal(pod);
    for (const template of set.spec.volumeClaimTemplates ?? []) {
      const name = getPersistentVolumeClaimName(set, template, ordinal);
      const cached = this.getClaim(set.metadata.namespace, name);
      if (cached === undefined || isClaimOwnerUpToDate(cached, set, pod)) continue;
      const claim = cloneObject(cached);
      updateClaimOwnerRefForSetAndPod(claim, set, pod);
      try {
        await this.claims(set.metadata.namespace).update(claim);
      } catch (e) {
        throw new Error(`Could not update claim ${name} for delete policy ownerRefs: ${messageOf(e)}`);
      }
    }
  }

  /**
   * PodClaimIsStale: under whenScaled Delete, a claim still owned by an earlier pod of this name
   * (another uid, or the pod not created yet) blocks the pod until the garbage collector removes it.
   */
  podClaimIsStale(set: StatefulSet, pod: Pod): boolean {
    if (retentionPolicy(set).whenScaled === "Retain") return false;
    for (const claim of getPersistentVolumeClaims(set, pod).values()) {
      const pvc = this.getClaim(set.metadata.namespace, claim.metadata.name as string);
      if (pvc !== undefined && hasStaleOwnerRef(pvc, pod, POD_KIND)) return true;
    }
    return false;
  }

  /** createMissingPersistentVolumeClaims: for a pending pod whose claim went missing. */
  async createMissingPersistentVolumeClaims(set: StatefulSet, pod: Pod): Promise<void> {
    await this.createPersistentVolumeClaims(set, pod);
    try {
      await this.updatePodClaimForRetentionPolicy(set, pod);
    } catch (e) {
      this.recordPodEvent("update", set, pod, e);
      throw e;
    }
  }

  /**
   * createPersistentVolumeClaims: creates the pod's claims that do not exist; one being deleted is
   * an error (the pod must not start on a claim about to vanish).
   */
  async createPersistentVolumeClaims(set: StatefulSet, pod: Pod): Promise<void> {
    const errs: string[] = [];
    for (const claim of getPersistentVolumeClaims(set, pod).values()) {
      const name = claim.metadata.name as string;
      const pvc = this.getClaim(set.metadata.namespace, name);
      if (pvc === undefined) {
        try {
          await this.claims(set.metadata.namespace).create(claim);
          this.recordClaimEvent("create", set, pod, claim, undefined);
        } catch (e) {
          errs.push(`failed to create PVC ${name}: ${messageOf(e)}`);
          if (!isAlreadyExists(e)) this.recordClaimEvent("create", set, pod, claim, e);
        }
      } else if (pvc.metadata.deletionTimestamp !== undefined) errs.push(`pvc ${name} is being deleted`);
    }
    if (errs.length > 0) throw new Error(errs.join("; "));
  }

  private recordPodEvent(verb: string, set: StatefulSet, pod: Pod, err: unknown): void {
    if (err === undefined)
      this.recorder.event(
        set,
        "Normal",
        `Successful${title(verb)}`,
        `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    else
      this.recorder.event(
        set,
        "Warning",
        `Failed${title(verb)}`,
        `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${messageOf(err)}`,
      );
  }

  private recordClaimEvent(
    verb: string,
    set: StatefulSet,
    pod: Pod,
    claim: PersistentVolumeClaim,
    err: unknown,
  ): void {
    if (err === undefined)
      this.recorder.event(
        set,
        "Normal",
        `Successful${title(verb)}`,
        `${verb} Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`,
      );
    else
      this.recorder.event(
        set,
        "Warning",
        `Failed${title(verb)}`,
        `${verb} Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${messageOf(err)}`,
      );
  }
}
