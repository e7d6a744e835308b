/**
 * The two Event shapes the recorders write (k8s.io/api core/v1 Event and events/v1 Event), the
 * object references they point with (client-go's tools/reference GetReference), their names and
 * times as kube writes them, and Go-style message formatting.
 */
import type { KubeObject, ObjectReference } from "@skiff/api";

export interface EventSource {
  component?: string;
  host?: string;
}

export interface EventSeries {
  count: number;
  /** metav1.MicroTime. */
  lastObservedTime: string;
}

/** core/v1 Event: the fields the recorder writes. */
export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  source?: EventSource;
  /** metav1.Time (seconds). */
  firstTimestamp?: string;
  lastTimestamp?: string;
  count?: number;
  type?: string;
  reportingComponent?: string;
  reportingInstance?: string;
}

/** events.k8s.io/v1 Event. */
export interface EventsV1Event extends KubeObject {
  /** metav1.MicroTime. */
  eventTime: string;
  series?: EventSeries;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  note: string;
  type: string;
}

/** What an event can be about: an object, or a reference to one. */
export type EventSubject = KubeObject | ObjectReference;

/** client-go's EventTypeNormal / EventTypeWarning: the only types it records. */
export const isValidEventType = (t: string): boolean => t === "Normal" || t === "Warning";

/** GetReference: the object's reference (an ObjectReference is taken as it is). */
export function referenceOf(o: EventSubject): ObjectReference {
  if (!("metadata" in o) || typeof o.metadata !== "object" || o.metadata === null)
    return { ...(o as ObjectReference) };
  const obj = o as KubeObject;
  if (!obj.kind || !obj.apiVersion) throw new Error("object has no kind or apiVersion to refer to it by");
  const ref: ObjectReference = { apiVersion: obj.apiVersion, kind: obj.kind };
  const m = obj.metadata;
  if (m.namespace) ref.namespace = m.namespace;
  if (m.name) ref.name = m.name;
  if (m.uid) ref.uid = m.uid;
  if (m.resourceVersion) ref.resourceVersion = m.resourceVersion;
  return ref;
}

/** The fields of a reference in a fixed order, for cache keys. */
export const refKey = (r: ObjectReference | undefined): string =>
  r === undefined
    ? ""
    : [r.kind, r.namespace, r.name, r.uid, r.apiVersion, r.resourceVersion, r.fieldPath]
        .map((v) => v ?? "")
        .join("\u0000");

/** metav1.Time as the API writes it: RFC 3339, whole seconds. */
export const metaTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

let lastNanos = 0n;

/**
 * kube's event name: `<object name>.<unix nanoseconds in hex>` (16 hex digits today). The clock
 * has millisecond resolution, so the nanoseconds are made strictly increasing within the
 * process: two events in the same millisecond still get two names.
 */
export function eventName(objectName: string | undefined, nowMs: number): string {
  let nanos = BigInt(Math.floor(nowMs)) * 1_000_000n;
  if (nanos <= lastNanos) nanos = lastNanos + 1n;
  lastNanos = nanos;
  return `${objectName ?? ""}.${nanos.toString(16)}`;
}

/** Go's fmt.Sprintf for the verbs messages use: %s %v %d %q %%. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let i = 0;
  const text = (v: unknown) =>
    typeof v === "string"
      ? v
      : v instanceof Error
        ? v.message
        : typeof v === "object" && v !== null
          ? JSON.stringify(v)
          : String(v);
  const out = format.replace(/%([svdq%])/g, (_, verb: string) => {
    if (verb === "%") return "%";
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const v = args[i++];
    if (verb === "d") {
      if (typeof v === "bigint") return String(v);
      return typeof v === "number" ? String(Math.trunc(v)) : `%!d(${text(v)})`;
    }
    if (verb === "q") return JSON.stringify(text(v));
    return text(v);
  });
  return i < args.length ? `${out}%!(EXTRA ${args.slice(i).map(text).join(", ")})` : out;
}
