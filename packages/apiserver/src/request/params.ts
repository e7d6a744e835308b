/**
 * Query parameters as kube-apiserver converts them into ListOptions, DeleteOptions, PatchOptions
 * (k8s.io/apimachinery/pkg/runtime Convert_Slice_string_To_bool): a boolean parameter is false
 * when absent, "0" or "false" in any case, and true for anything else, the empty string included
 * (`?watch` alone, `watch=True` from the Python client, `watch=1`).
 */
export function queryBool(v: string | undefined): boolean {
  if (v === undefined) return false;
  return !(v === "0" || v.toLowerCase() === "false");
}
