/**
 * Namespace storage (kube: pkg/registry/core/namespace/storage, a REST of its own): the built-in
 * namespaces exist from the start; a new namespace carries the kubernetes.io/metadata.name label.
 * DELETE only marks a namespace (deletionTimestamp, phase Terminating; dryRun stores nothing;
 * uid and resourceVersion preconditions are checked); emptying it is the controller manager's
 * namespace controller's job, which then removes its `kubernetes` finalizer through the
 * `finalize` subresource. The namespace goes once spec.finalizers and metadata.finalizers are
 * both empty (kube's ShouldDeleteNamespaceDuringUpdate). spec.finalizers change only through
 * `finalize`. There is no DELETE on the collection.
 */
import { type FieldError, invalid, type KubeObject, metav1Time, type Registry } from "@skiff/api";
import { conflict, invalidObject, StatusError } from "../../status.js";
import { versioner } from "../../storage/versioner.js";
import { type DeleteOptions, GenericStore, type StoreDeps, type WriteOptions } from "../store.js";

export const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

const METADATA_NAME_LABEL = "kubernetes.io/metadata.name";
/** Finalizer names that need no domain (kube: IsStandardFinalizerName). */
const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

type Json = Record<string, unknown>;
const specFinalizers = (ns: KubeObject) =>
  ((ns.spec as Json | undefined)?.finalizers as string[] | undefined) ?? [];

export class NamespaceStorage extends GenericStore {
  override readonly collectionDeleter = false;

  constructor(registry: Registry, deps: StoreDeps) {
    const kind = registry.resource("", "v1", "namespaces");
    if (kind === undefined) throw new Error("the registry has no namespaces");
    super(kind, deps, {
      // kube's namespaceStrategy.Canonicalize: the label always names the namespace.
      canonicalize: (ns) => {
        ns.metadata.labels = { ...ns.metadata.labels, [METADATA_NAME_LABEL]: ns.metadata.name as string };
      },
    });
  }

  /** Creates the built-in namespaces that are missing. */
  async bootstrap(): Promise<void> {
    for (const name of BUILTIN_NAMESPACES) {
      const ns: KubeObject = {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name,
          uid: crypto.randomUUID(),
          creationTimestamp: metav1Time(this.deps.now()),
          labels: { [METADATA_NAME_LABEL]: name },
        },
        spec: { finalizers: ["kubernetes"] },
        status: { phase: "Active" },
      };
      try {
        await this.deps.store.create(this.kind, ns);
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === "AlreadyExists")) throw e;
      }
    }
  }

  /** kube's namespace REST Delete: the first DELETE marks it, a later one removes it once finalized. */
  override async delete(
    ns: KubeObject,
    opts: DeleteOptions,
    o: Omit<WriteOptions, "dryRun">,
  ): Promise<KubeObject> {
    const name = ns.metadata.name as string;
    const pre = opts.preconditions;
    if (pre?.uid != null && pre.uid !== ns.metadata.uid)
      throw conflict(
        this.kind,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${ns.metadata.uid}`,
      );
    if (pre?.resourceVersion != null && pre.resourceVersion !== ns.metadata.resourceVersion)
      throw conflict(
        this.kind,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${ns.metadata.resourceVersion}`,
      );
    const dryRun = opts.dryRun?.includes("All") === true;
    if (ns.metadata.deletionTimestamp === undefined) {
      await o.validate();
      const terminating: KubeObject = {
        ...ns,
        metadata: { ...ns.metadata, deletionTimestamp: metav1Time(this.deps.now()) },
        status: { ...(ns.status as Json), phase: "Terminating" },
      };
      if (dryRun) return terminating;
      const stored = await this.deps.store.update(
        this.kind,
        terminating,
        versioner.objectResourceVersion(ns),
      );
      this.deps.cache?.observe(this.kind, stored);
      return stored;
    }
    // Already terminating: it goes only once finalized (and then as any object with finalizers).
    if (specFinalizers(ns).length > 0) return ns;
    return super.delete(ns, { ...opts, preconditions: undefined }, o);
  }

  /**
   * Updates through the main resource and /status keep spec.finalizers (kube's
   * namespaceStrategy.PrepareForUpdate); a finalized terminating namespace is removed.
   */
  override async update(
    next: KubeObject,
    old: KubeObject,
    expected: number,
    o: WriteOptions,
  ): Promise<KubeObject> {
    next.spec = { ...(next.spec as Json), finalizers: specFinalizers(old) };
    if (specFinalizers(old).length === 0) delete (next.spec as Json).finalizers;
    return this.write(next, old, expected, o);
  }

  /** The `finalize` subresource (kube's FinalizeREST): only spec.finalizers is taken from `wanted`. */
  async finalize(
    wanted: KubeObject,
    old: KubeObject,
    expected: number,
    o: WriteOptions,
  ): Promise<KubeObject> {
    const finalizers = specFinalizers(wanted);
    const errs: FieldError[] = [];
    finalizers.forEach((f, i) => {
      const field = `spec.finalizers[${i}]`;
      if (!QUALIFIED_NAME.test(f) || f.length > 316)
        errs.push(
          invalid(
            field,
            f,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
          ),
        );
      else if (!f.includes("/") && !STANDARD_FINALIZERS.has(f))
        errs.push({
          type: "FieldValueForbidden",
          field,
          detail: "name is neither a standard finalizer name nor is it fully qualified",
        });
    });
    if (errs.length > 0) throw invalidObject(this.kind, old.metadata.name as string, errs);
    const next: KubeObject = {
      ...old,
      metadata: { ...old.metadata },
      spec: { ...(old.spec as Json), finalizers },
    };
    if (finalizers.length === 0) delete (next.spec as Json).finalizers;
    return this.write(next, old, expected, o);
  }

  private async write(
    next: KubeObject,
    old: KubeObject,
    expected: number,
    o: WriteOptions,
  ): Promise<KubeObject> {
    const finalized =
      old.metadata.deletionTimestamp !== undefined &&
      specFinalizers(next).length === 0 &&
      (next.metadata.finalizers ?? []).length === 0;
    await o.validate(); // namespaces are charged to no quota: no writes come back
    if (o.dryRun) return next;
    if (!finalized) {
      const stored = await this.deps.store.update(this.kind, next, expected);
      this.deps.cache?.observe(this.kind, stored);
      return stored;
    }
    // kube's ShouldDeleteDuringUpdate: the update removes it.
    await this.deleteStored({ ...next, metadata: { ...next.metadata, resourceVersion: String(expected) } });
    return next;
  }
}
