/**
 * certificatesigningrequests/approval (kube: csrApprovalStrategy): what `kubectl certificate
 * approve` PUTs. Only status.conditions change through it; the rest of the body is ignored. A PUT
 * or PATCH here becomes an update of /status carrying the stored status with the new conditions.
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonValue,
  PatchError,
} from "@skiff/api";
import { badRequest, methodNotAllowed } from "../status.js";
import { decodeBody, patchTypeOf } from "./content.js";
import { get } from "./get.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";
import { update } from "./update.js";

type Json = Record<string, unknown>;
const asObj = (v: unknown): Json => (typeof v === "object" && v !== null ? (v as Json) : {});

export async function approval(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name } = req.path;
  if (req.method === "GET") return get(scope, req);
  if (req.method !== "PUT" && req.method !== "PATCH") throw methodNotAllowed();
  const old = await scope.store.get(kind, namespace, name as string);
  let wanted: Json;
  if (req.method === "PUT") wanted = asObj(decodeBody(req.body, req.contentType));
  else {
    const type = patchTypeOf(req.contentType);
    if (type === "apply") throw badRequest("server-side apply is not supported on this subresource");
    const body = decodeBody(req.body, "application/json");
    const base = JSON.parse(JSON.stringify(old)) as JsonValue;
    try {
      wanted = asObj(
        type === "json"
          ? applyJsonPatch(base, body as never)
          : type === "merge"
            ? applyMergePatch(base, body as JsonValue)
            : applyStrategicMergePatch(base, body as JsonValue),
      );
    } catch (e) {
      if (e instanceof PatchError) throw badRequest(e.message);
      throw e;
    }
  }
  const conditions = asObj(wanted.status).conditions;
  const status = { ...asObj(old.status), conditions };
  if (conditions === undefined) delete status.conditions;
  const next = { ...old, metadata: { ...old.metadata, ...asObj(wanted.metadata) }, status };
  return update(scope, {
    ...req,
    method: "PUT",
    verb: "update",
    contentType: "application/json",
    body: Buffer.from(JSON.stringify(next)),
    path: { ...req.path, subresource: "status" },
  });
}
