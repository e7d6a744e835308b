/**
 * The one owner of resourceVersion (Kubernetes' storage.Versioner, APIObjectVersioner in
 * k8s.io/apiserver/pkg/storage/api_object_versioner.go). A resourceVersion is an opaque string to
 * clients; inside the API server it is the store's mod revision. Every conversion between the two
 * goes through here, so the rules (decimal digits only, "" and "0" mean "any", 0 is never written
 * on an object) live in one place.
 */
import type { KubeObject } from "@skiff/api";
import type { Kv } from "./etcd.js";

/**
 * kube's storage.InvalidError for a resourceVersion that is not a decimal revision. Each caller
 * turns it into the answer its verb gives (as kube's storage/errors Interpret*Error do).
 */
export class InvalidResourceVersion extends Error {
  constructor(
    readonly resourceVersion: string,
    readonly detail: string,
  ) {
    // field.Invalid(field.NewPath("resourceVersion"), rv, err.Error()), as kube words it.
    super(`resourceVersion: Invalid value: ${JSON.stringify(resourceVersion)}: ${detail}`);
    this.name = "InvalidResourceVersion";
  }
}

/** Go's strconv.ParseUint(s, 10, 64), within what a JavaScript number holds exactly. */
function parseUint(s: string): number {
  if (!/^[0-9]+$/.test(s))
    throw new InvalidResourceVersion(s, `strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  // Revisions are int64 in etcd; beyond 2^53 a number would silently round, so refuse it.
  if (!Number.isSafeInteger(n))
    throw new InvalidResourceVersion(
      s,
      `strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`,
    );
  return n;
}

export const versioner = {
  /** Sets metadata.resourceVersion to `revision` (kube: UpdateObject; 0 clears it). */
  updateObject(obj: KubeObject, revision: number): void {
    if (revision === 0) delete obj.metadata.resourceVersion;
    else obj.metadata.resourceVersion = String(revision);
  },

  /** A copy of `obj` at `revision`; the input is left as it is. */
  withRevision(obj: KubeObject, revision: number): KubeObject {
    const out = { ...obj, metadata: { ...obj.metadata } };
    versioner.updateObject(out, revision);
    return out;
  },

  /** A list's metadata.resourceVersion (kube: UpdateList; a list always has one). */
  listResourceVersion(revision: number): string {
    if (!Number.isSafeInteger(revision) || revision <= 0)
      throw new Error(`illegal resource version from storage: ${revision}`);
    return String(revision);
  },

  /**
   * The object as stored: without resourceVersion, which is the key's mod revision and never part
   * of the value (kube: PrepareObjectForStorage). The input is left as it is.
   */
  prepareObjectForStorage(obj: KubeObject): KubeObject {
    const { resourceVersion: _, ...metadata } = obj.metadata;
    return { ...obj, metadata };
  },

  /** The object's resourceVersion as a revision; 0 when it has none (kube: ObjectResourceVersion). */
  objectResourceVersion(obj: KubeObject): number {
    const rv = obj.metadata.resourceVersion;
    return rv === undefined || rv === "" ? 0 : parseUint(rv);
  },

  /**
   * A resourceVersion a client sent, as a revision: "" and "0" are 0 ("any"); anything but
   * decimal digits is an InvalidResourceVersion (kube: ParseResourceVersion).
   */
  parseResourceVersion(rv: string | undefined): number {
    return rv === undefined || rv === "" || rv === "0" ? 0 : parseUint(rv);
  },

  /** The mod revision of a key read from the store (etcd's int64, a decimal string on the wire). */
  modRevision(kv: Kv): number {
    return Number(kv.mod_revision);
  },

  /** The resourceVersion of an object read from the store: its key's mod revision. */
  storedResourceVersion(kv: Kv): string {
    return String(versioner.modRevision(kv));
  },
};
