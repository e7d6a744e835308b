/**
 * kube's EndpointSliceTracker (k8s.io/endpointslice/util endpointslice_tracker.go): the
 * generation of every EndpointSlice this controller wrote, by Service, and the slices it deleted.
 * With it the controller ignores the informer events of its own writes (ShouldSync), and refuses
 * to sync a Service while its cache still shows older generations, misses a slice it created, or
 * still holds one it deleted (StaleSlices): acting on such a cache would create or delete twice.
 * Relies on the API server bumping an EndpointSlice's metadata.generation on every change of its
 * content or labels, as kube's endpointSliceStrategy does.
 */
import type { EndpointSlice } from "../types.js";
import { LABEL_SERVICE_NAME } from "../types.js";

/** The generation recorded for a slice the controller deleted. */
const DELETION_EXPECTED = -1;

type GenerationsBySlice = Map<string, number>;

function serviceKeyOf(slice: EndpointSlice): string {
  return `${slice.metadata.namespace ?? ""}/${slice.metadata.labels?.[LABEL_SERVICE_NAME] ?? ""}`;
}

export class EndpointSliceTracker {
  /** Service key (namespace/name) -> slice uid -> generation (or DELETION_EXPECTED). */
  private readonly generationsByService = new Map<string, GenerationsBySlice>();

  private generationsFor(slice: EndpointSlice): GenerationsBySlice | undefined {
    return this.generationsByService.get(serviceKeyOf(slice));
  }

  /** Whether the slice is tracked at all. */
  has(slice: EndpointSlice): boolean {
    return this.generationsFor(slice)?.has(slice.metadata.uid ?? "") === true;
  }

  /** True unless the slice is tracked with this generation or a newer one (then it is our own write). */
  shouldSync(slice: EndpointSlice): boolean {
    const g = this.generationsFor(slice)?.get(slice.metadata.uid ?? "");
    return g === undefined || (slice.metadata.generation ?? 0) > g;
  }

  /**
   * StaleSlices: a given slice is older than tracked or expected deleted, or a tracked slice
   * (not expected deleted) is missing from the given ones.
   */
  staleSlices(namespace: string, name: string, slices: readonly EndpointSlice[]): boolean {
    const gfs = this.generationsByService.get(`${namespace}/${name}`);
    if (gfs === undefined) return false;
    const provided = new Set<string>();
    for (const s of slices) {
      const uid = s.metadata.uid ?? "";
      provided.add(uid);
      const g = gfs.get(uid);
      if (g !== undefined && (g === DELETION_EXPECTED || g > (s.metadata.generation ?? 0))) return true;
    }
    for (const [uid, g] of gfs) if (g !== DELETION_EXPECTED && !provided.has(uid)) return true;
    return false;
  }

  /** Records the generation of a slice the controller created or updated. */
  update(slice: EndpointSlice): void {
    this.ensure(slice).set(slice.metadata.uid ?? "", slice.metadata.generation ?? 0);
  }

  /** Records that the controller deleted this slice. */
  expectDeletion(slice: EndpointSlice): void {
    this.ensure(slice).set(slice.metadata.uid ?? "", DELETION_EXPECTED);
  }

  /** Forgets a deleted slice; false when its deletion was not expected (someone else's). */
  handleDeletion(slice: EndpointSlice): boolean {
    const gfs = this.generationsFor(slice);
    if (gfs === undefined) return true;
    const uid = slice.metadata.uid ?? "";
    const g = gfs.get(uid);
    gfs.delete(uid);
    return g === undefined || g === DELETION_EXPECTED;
  }

  deleteService(namespace: string, name: string): void {
    this.generationsByService.delete(`${namespace}/${name}`);
  }

  private ensure(slice: EndpointSlice): GenerationsBySlice {
    const key = serviceKeyOf(slice);
    let gfs = this.generationsByService.get(key);
    if (gfs === undefined) {
      gfs = new Map();
      this.generationsByService.set(key, gfs);
    }
    return gfs;
  }
}
