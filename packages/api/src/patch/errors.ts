/** Raised by every patch function when a patch cannot be applied; `message` says precisely why. */
export class PatchError extends Error {
  override readonly name = "PatchError";
}

/**
 * A patch that would grow the document past a bound (the bytes its `copy` operations add, as
 * json-patch's AccumulatedCopySizeLimit); the API server answers it with a 4xx, as kube-apiserver.
 */
export class PatchLimitError extends PatchError {}
