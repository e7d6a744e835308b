/** Raised by every patch function when a patch cannot be applied; `message` says precisely why. */
export class PatchError extends Error {
  override readonly name = "PatchError";
}
