/** Delete preconditions (kube: storage.Preconditions.Check): the uid and resourceVersion must match. */
import type { KubeObject } from "@skiff/api";
import type { DeleteOptions } from "../registry/store.js";
import { StatusError } from "../status.js";

export function checkPreconditions(pre: DeleteOptions["preconditions"], obj: KubeObject): void {
  if (pre?.uid !== undefined && pre.uid !== obj.metadata.uid)
    throw new StatusError(
      409,
      "Conflict",
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`,
    );
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== obj.metadata.resourceVersion)
    throw new StatusError(
      409,
      "Conflict",
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
    );
}
