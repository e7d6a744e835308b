/**
 * Event validation (pkg/apis/core/validation/events.go), on the core/v1 form both group versions
 * store: the legacy checks every Event passes (core/v1 writes get only these), and the strict ones
 * of events.k8s.io/v1 creates and updates. Field paths are the stored (core) names, as kube's.
 */
import type { KubeObject } from "../meta.js";
import { dns1123Subdomain, type FieldError, invalid, qualifiedName, required } from "../validation.js";
import { asObj, text } from "./json.js";

const set = (v: unknown) => v !== undefined && v !== null && v !== "";
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** legacyValidateEvent; `rcField` names reportingComponent as the request's version does. */
export function legacyValidateEvent(ev: KubeObject, rcField: string): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata.namespace ?? "";
  const io = asObj(ev.involvedObject);
  const ioNs = text(io.namespace);
  if (!set(ev.eventTime)) {
    // Old-style Events: the involved object's namespace and the Event's agree.
    if (ioNs === "" ? ns !== "" && ns !== "default" : ioNs !== ns)
      errs.push(invalid("involvedObject.namespace", ioNs, "does not match event.namespace"));
  } else {
    if (ioNs === "" && ns !== "default" && ns !== "kube-system")
      errs.push(invalid("involvedObject.namespace", ioNs, "does not match event.namespace"));
    const rc = text(ev.reportingComponent);
    if (rc === "") errs.push(required(rcField));
    for (const m of qualifiedName(rc)) errs.push(invalid(rcField, rc, m));
    const ri = text(ev.reportingInstance);
    if (ri === "") errs.push(required("reportingInstance"));
    if (ri.length > 128) errs.push(invalid("reportingInstance", "", "can have at most 128 characters"));
    const action = text(ev.action);
    if (action === "") errs.push(required("action"));
    if (action.length > 128) errs.push(invalid("action", "", "can have at most 128 characters"));
    const reason = text(ev.reason);
    if (reason === "") errs.push(required("reason"));
    if (reason.length > 128) errs.push(invalid("reason", "", "can have at most 128 characters"));
    if (text(ev.message).length > 1024) errs.push(invalid("message", "", "can have at most 1024 characters"));
  }
  for (const m of dns1123Subdomain(ns)) errs.push(invalid("namespace", ns, m));
  return errs;
}

function validateSeries(ev: KubeObject): FieldError[] {
  if (ev.series === undefined || ev.series === null) return [];
  const s = asObj(ev.series);
  const errs: FieldError[] = [];
  if (typeof s.count !== "number" || s.count < 2)
    errs.push(invalid("series.count", "", "should be at least 2"));
  if (!set(s.lastObservedTime)) errs.push(required("series.lastObservedTime"));
  return errs;
}

/** ValidateEventCreate for events.k8s.io/v1. */
export function validateEventCreate(ev: KubeObject): FieldError[] {
  const errs = [...legacyValidateEvent(ev, "reportingController"), ...validateSeries(ev)];
  if (!set(ev.eventTime)) errs.push(required("eventTime"));
  if (ev.type !== "Normal" && ev.type !== "Warning")
    errs.push(invalid("type", "", `has invalid value: ${text(ev.type)}`));
  if (set(ev.firstTimestamp)) errs.push(invalid("firstTimestamp", "", "needs to be unset"));
  if (set(ev.lastTimestamp)) errs.push(invalid("lastTimestamp", "", "needs to be unset"));
  if (typeof ev.count === "number" && ev.count !== 0) errs.push(invalid("count", "", "needs to be unset"));
  const src = asObj(ev.source);
  if (src.component || src.host) errs.push(invalid("source", "", "needs to be unset"));
  return errs;
}

/** The fields an events.k8s.io/v1 update may not change (core/v1 names). */
const immutableFields = [
  "involvedObject",
  "reason",
  "message",
  "source",
  "firstTimestamp",
  "lastTimestamp",
  "count",
  "type",
  "eventTime",
  "action",
  "related",
  "reportingComponent",
  "reportingInstance",
];

/** ValidateEventUpdate for events.k8s.io/v1: only the series may change. */
export function validateEventUpdate(ev: KubeObject, old: KubeObject): FieldError[] {
  const errs = legacyValidateEvent(ev, "reportingController");
  if (!same(ev.series, old.series)) errs.push(...validateSeries(ev));
  for (const f of immutableFields) {
    const path = f === "reportingComponent" ? "reportingController" : f;
    if (!same(ev[f], old[f])) errs.push(invalid(path, ev[f] ?? null, "field is immutable"));
  }
  return errs;
}
