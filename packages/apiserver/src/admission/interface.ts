/**
 * Admission plugins (kube's admission.Interface in k8s.io/apiserver/pkg/admission/interfaces.go).
 * A plugin says which operations it handles; a mutating plugin changes the object in `admit`
 * (kube: MutationInterface.Admit), a validating one accepts or refuses it in `validate` (kube:
 * ValidationInterface.Validate). Refusing is throwing a StatusError. A plugin may be both.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { UserInfo } from "../auth.js";
import type { GuardedWrite } from "../storage/registry-store.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** What is being admitted (kube: admission.Attributes). */
export interface Attributes {
  readonly operation: Operation;
  /** The kind and resource (kube: GetKind and GetResource). */
  readonly kind: KindDef;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly subresource: string | undefined;
  /** The new object (CREATE, UPDATE); mutating plugins change it in place. Undefined on DELETE. */
  readonly object: KubeObject | undefined;
  /** The stored object (UPDATE, DELETE). */
  readonly oldObject: KubeObject | undefined;
  readonly userInfo: UserInfo | undefined;
  readonly dryRun: boolean;
  /**
   * Skiff's addition: other keys a validating plugin needs written in the object's own store
   * transaction, each guarded by the revision it was read at (a ResourceQuota's usage). If one
   * changed meanwhile, the write is retried and validation runs again.
   */
  readonly writes: GuardedWrite[];
}

export interface AdmissionPlugin {
  /** The name it is registered and ordered by (kube's plugin names: "LimitRanger", ...). */
  readonly name: string;
  handles(operation: Operation): boolean;
  admit?(a: Attributes): Promise<void>;
  validate?(a: Attributes): Promise<void>;
}
