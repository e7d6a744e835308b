/**
 * The per-kind hooks of the generic store (kube: the RESTCreateStrategy, RESTGracefulDeleteStrategy
 * and the BeginCreate/BeginUpdate/AfterDelete/TTLFunc hooks of genericregistry.Store that
 * pkg/registry/core/<kind> sets). Every hook is optional; a kind without any is stored as it is.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { Claims, GuardedWrite, RegistryStore } from "../storage/registry-store.js";
import type { DeleteOptions } from "./store.js";

export interface Strategy {
  /** Normalizes a new object after validation (kube: RESTCreateStrategy.Canonicalize). */
  canonicalize?(obj: KubeObject): void;
  /** A store lease the object expires with (kube: Store.TTLFunc; Events after --event-ttl). */
  lease?(): Promise<string | undefined>;
  /**
   * Writes a new object with what it allocates in the same transaction (kube: Store.BeginCreate;
   * a Service's cluster IP and node ports). `guarded` are admission's writes, to go along.
   */
  create?(store: RegistryStore, kind: KindDef, obj: KubeObject, guarded: GuardedWrite[]): Promise<KubeObject>;
  /** Fills in and checks an update; returns the claims it adds and releases (kube: Store.BeginUpdate). */
  beginUpdate?(kind: KindDef, next: KubeObject, old: KubeObject): Claims;
  /** The answer for a store error of an update (a taken claim is a 422 naming the field). */
  updateError?(kind: KindDef, next: KubeObject, e: unknown): unknown;
  /** Claim keys released with the object (kube: Store.AfterDelete). */
  releasedOnDelete?(obj: KubeObject): string[];
  /**
   * Seconds the object waits before it is removed (kube: RESTGracefulDeleteStrategy); a kind
   * without it is removed at once (or marked deleting while it has finalizers).
   */
  gracePeriodSeconds?(obj: KubeObject, opts: DeleteOptions): number;
  /**
   * DELETE answers with the deleted object (kube: Store.ReturnDeletedObject); otherwise a Status
   * Success with details {name, group, kind (the resource), uid}. Unset: RETURNS_DELETED_OBJECT.
   */
  returnDeletedObject?: boolean;
}

/**
 * The kinds (GroupKind.String()) whose kube storage sets ReturnDeletedObject: DELETE answers with
 * the object. Every other kind answers with a Status (ConfigMap, Secret, Deployment, Event, ...).
 * Clients generated from kube's OpenAPI decode the answer as that type (python3-kubernetes'
 * delete_csi_node expects a V1CSINode, whose spec is required).
 */
export const RETURNS_DELETED_OBJECT: ReadonlySet<string> = new Set([
  "Pod",
  "Service",
  "ServiceAccount",
  "Namespace",
  "ResourceQuota",
  "PodTemplate",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "StorageClass.storage.k8s.io",
  "VolumeAttachment.storage.k8s.io",
  "CSIDriver.storage.k8s.io",
  "CSINode.storage.k8s.io",
]);
