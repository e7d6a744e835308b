/**
 * Server-side apply (kube: handlers/patch.go's applyPatcher): a PATCH with Content-Type
 * application/apply-patch+yaml whose body (YAML or JSON) is the applier's whole intent. The
 * configuration is merged into the live object by the schema and `fieldManager` owns what it
 * sets (fieldmanager.ts); a missing object is created through the create path and admission.
 * A concurrent writer makes it re-read and apply again, as kube retries.
 */
import { type KubeObject, required } from "@skiff/api";
import { queryBool } from "../request/params.js";
import { badRequest, StatusError, staleUpdate } from "../status.js";
import { versioner } from "../storage/versioner.js";
import { decodeBody } from "./content.js";
import { trackApply } from "./fieldmanager.js";
import { fieldManagerOf, invalidOptions } from "./manager-options.js";
import { checkBody, fieldValidationOf, prepareCreate, prepareUpdate } from "./prepare.js";
import { attributesOf, isDryRun, type RequestScope, type RestAnswer, type RestRequest } from "./scope.js";
import { updateObject } from "./update.js";

async function getOrUndefined(scope: RequestScope, req: RestRequest): Promise<KubeObject | undefined> {
  const { kind, namespace, name } = req.path;
  try {
    return await scope.store.get(kind, namespace, name as string);
  } catch (e) {
    if (e instanceof StatusError && e.reason === "NotFound" && req.path.subresource === undefined)
      return undefined;
    throw e;
  }
}

export async function apply(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name, subresource } = req.path;
  if (req.query.fieldManager === undefined || req.query.fieldManager === "")
    throw invalidOptions("PatchOptions", [required("fieldManager", "is required for apply patch")]);
  const manager = fieldManagerOf(req, "PatchOptions");
  const force = queryBool(req.query.force);
  const { obj: config, warnings } = checkBody(
    kind,
    decodeBody(req.body, req.contentType),
    fieldValidationOf(req.query.fieldValidation),
  );
  if (config.metadata.name !== undefined && config.metadata.name !== name)
    throw badRequest(
      `the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`,
    );
  const sentRv = config.metadata.resourceVersion;
  for (let attempt = 0; ; attempt++) {
    const live = await getOrUndefined(scope, req);
    if (sentRv !== undefined && sentRv !== "" && sentRv !== live?.metadata.resourceVersion)
      throw staleUpdate(kind, name as string);
    const merged = trackApply(kind, req, live, structuredClone(config), manager, force, scope.now());
    merged.metadata.name = name;
    try {
      if (live === undefined) {
        const ready = prepareCreate(kind, merged, namespace, scope.now());
        const dryRun = isDryRun(req.query);
        const attrs = attributesOf("CREATE", req, ready, undefined, dryRun);
        await scope.admission.admit(attrs);
        const stored = await scope
          .storage(kind)
          .create(ready, { dryRun, validate: () => scope.admission.validate(attrs) });
        return { code: 201, body: stored, warnings };
      }
      const next = prepareUpdate(kind, merged, live, subresource === "status" ? "status" : undefined);
      const stored = await updateObject(scope, req, next, live, versioner.objectResourceVersion(live));
      return { code: 200, body: stored, warnings };
    } catch (e) {
      const raced = e instanceof StatusError && (e.reason === "Conflict" || e.reason === "AlreadyExists");
      if (raced && attempt < 5 && (sentRv === undefined || sentRv === "")) continue;
      throw e;
    }
  }
}
