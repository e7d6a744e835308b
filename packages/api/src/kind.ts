/**
 * What the API server needs to know about one kind: where it lives (group, version, resource,
 * scope), its schema, defaulting, validation, how `kubectl get` shows it, and its subresources.
 * Every kind is one KindDef in kinds/; the registry (registry.ts) is the list of them.
 */
import type { KubeObject, NameRule } from "./meta.js";
import type { ObjectSchema } from "./schema.js";
import type { FieldError } from "./validation.js";

export interface ColumnDefinition {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format: string;
  description: string;
  /** 0: always shown; > 0: only with `-o wide`. */
  priority: number;
}

export interface TableDef {
  /**
   * Columns after NAME, in kube's order; AGE is added by the server (before the first column of
   * priority > 0) unless `noAge`. With `noName` the kind gives its own NAME column and cell.
   */
  columns: ColumnDefinition[];
  cells(obj: KubeObject, now: Date): unknown[];
  noAge?: boolean;
  noName?: boolean;
}

export interface KindDef {
  group: string;
  version: string;
  kind: string;
  /** Plural, lower case: the REST path segment. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  schema: ObjectSchema;
  /** Metadata name rule: DNS-1123 subdomain for most kinds, label for some. */
  nameRule: NameRule;
  /** Subresources served besides the object itself. */
  subresources: (
    | "status"
    | "scale"
    | "binding"
    | "eviction"
    | "log"
    | "exec"
    | "attach"
    | "portforward"
    | "proxy"
    | "approval"
    | "token"
  )[];
  /** Fields kept on a main-resource update when a status subresource exists (status is ignored). */
  hasStatus: boolean;
  /**
   * metadata.generation is kept although the kind has no spec: 1 on create, bumped by any change
   * outside metadata or of the labels (kube's endpointSliceStrategy.PrepareForUpdate, which the
   * EndpointSlice controller's tracker relies on to tell its own writes from others').
   */
  contentGeneration?: boolean;
  /** Fills in defaults in place (pod restartPolicy Always, ...). */
  defaults?(obj: KubeObject): void;
  /** Kind-specific validation of a new object, or of an update against the old one. */
  validate?(obj: KubeObject, old?: KubeObject): FieldError[];
  table: TableDef;
  description: string;
  /**
   * Kinds that share another kind's storage (events.k8s.io/v1 Event and core/v1 Event, both under
   * /registry/events): the stored form is the other kind's, converted on every read and write.
   */
  storageConversion?: {
    toStorage(obj: KubeObject): KubeObject;
    fromStorage(obj: KubeObject): KubeObject;
  };
  /** The verbs served, when not every verb (create-only reviews); such kinds are never stored. */
  verbs?: readonly string[];
}

export const apiVersionOf = (k: Pick<KindDef, "group" | "version">) =>
  k.group === "" ? k.version : `${k.group}/${k.version}`;
