/**
 * What a pod update may change (kube: ValidatePodUpdate in pkg/apis/core/validation): container
 * and init container images, activeDeadlineSeconds (set, or lowered), tolerations (additions, and
 * tolerationSeconds of existing ones), terminationGracePeriodSeconds (to 1 when it was negative)
 * and schedulingGates (removals only). Any other spec change is "Forbidden: pod updates may not
 * change fields other than ...", with the changed fields listed after it. spec.nodeName is set by
 * the pods/binding subresource only.
 */
import { type JsonValue, jsonEqual } from "../patch/json.js";
import { type FieldError, forbidden, invalid, required } from "../validation.js";
import { asObj, type Json } from "./json.js";

const list = (v: unknown) => (Array.isArray(v) ? (v as Json[]) : []);
const MAX_INT32 = 2147483647;

export const POD_UPDATE_FORBIDDEN =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

const eq = (a: unknown, b: unknown) => jsonEqual(a as JsonValue | undefined, b as JsonValue | undefined);

function containerUpdates(next: Json[], old: Json[], path: string): FieldError[] {
  if (next.length !== old.length) return [forbidden(path, "pod updates may not add or remove containers")];
  const errs: FieldError[] = [];
  next.forEach((c, i) => {
    if (typeof c.image !== "string" || c.image === "") errs.push(required(`${path}[${i}].image`));
  });
  return errs;
}

function onlyAddedTolerations(next: Json[], old: Json[]): FieldError[] {
  for (const o of old) {
    const found = next.some((n) => {
      const { tolerationSeconds: _a, ...a } = o;
      const { tolerationSeconds: _b, ...b } = n;
      return eq(a, b);
    });
    if (!found)
      return [
        forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"),
      ];
  }
  return [];
}

function onlyDeletedGates(next: Json[], old: Json[]): FieldError[] {
  const had = new Set(old.map((g) => g.name));
  const added = next.find((g) => !had.has(g.name));
  return added === undefined
    ? []
    : [
        forbidden(
          "spec.schedulingGates",
          `only deletion is allowed, but found new scheduling gate '${String(added.name)}'`,
        ),
      ];
}

/** A short account of what changed, in place of kube's cmp.Diff. */
function specDiff(next: Json, old: Json): string {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])].filter((k) => !eq(next[k], old[k]));
  const lines = keys.flatMap((k) => [
    `- \t${k}: ${JSON.stringify(old[k])}`,
    `+ \t${k}: ${JSON.stringify(next[k])}`,
  ]);
  return `  core.PodSpec{\n${lines.join("\n")}\n  }\n`;
}

export function validatePodUpdate(nextSpec: unknown, oldSpec: unknown): FieldError[] {
  const next = asObj(nextSpec);
  const old = asObj(oldSpec);
  const containers = containerUpdates(list(next.containers), list(old.containers), "spec.containers");
  if (containers.some((e) => e.type === "FieldValueForbidden")) return containers;
  const inits = containerUpdates(list(next.initContainers), list(old.initContainers), "spec.initContainers");
  if (inits.some((e) => e.type === "FieldValueForbidden")) return inits;
  const errs: FieldError[] = [...containers, ...inits];
  const ads = next.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    if (typeof ads !== "number" || ads < 0 || ads > MAX_INT32)
      return [
        ...errs,
        invalid("spec.activeDeadlineSeconds", ads, `must be between 0 and ${MAX_INT32}, inclusive`),
      ];
    if (typeof old.activeDeadlineSeconds === "number" && old.activeDeadlineSeconds < ads)
      return [
        ...errs,
        invalid("spec.activeDeadlineSeconds", ads, "must be less than or equal to previous value"),
      ];
  } else if (old.activeDeadlineSeconds !== undefined && old.activeDeadlineSeconds !== null)
    errs.push(
      invalid("spec.activeDeadlineSeconds", null, "must not update from a positive integer to nil value"),
    );
  errs.push(...onlyAddedTolerations(list(next.tolerations), list(old.tolerations)));
  errs.push(...onlyDeletedGates(list(next.schedulingGates), list(old.schedulingGates)));
  if (eq(next, old)) return errs;
  // What may change is taken from the old spec; whatever differs after that is forbidden.
  const munged: Json = {
    ...next,
    containers: list(next.containers).map((c, i) => ({ ...c, image: list(old.containers)[i]?.image })),
    activeDeadlineSeconds: old.activeDeadlineSeconds,
    schedulingGates: old.schedulingGates,
    tolerations: old.tolerations,
  };
  if (next.initContainers !== undefined)
    munged.initContainers = list(next.initContainers).map((c, i) => ({
      ...c,
      image: list(old.initContainers)[i]?.image,
    }));
  const oldGrace = old.terminationGracePeriodSeconds;
  if (typeof oldGrace === "number" && oldGrace < 0 && munged.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = oldGrace;
  const clean = (v: Json) => JSON.parse(JSON.stringify(v)) as Json;
  if (!eq(clean(munged), clean(old)))
    errs.push(forbidden("spec", `${POD_UPDATE_FORBIDDEN}\n${specDiff(clean(munged), clean(old))}`));
  return errs;
}
