/**
 * events.k8s.io/v1 Event: the same objects as core/v1 Events, stored once under /registry/events
 * in the core/v1 form (kube: cohabitating resources) and converted on every read and write:
 * note<->message, regarding<->involvedObject, reportingController<->reportingComponent,
 * deprecatedCount<->count, deprecatedFirstTimestamp<->firstTimestamp,
 * deprecatedLastTimestamp<->lastTimestamp, deprecatedSource<->source. Both kinds print with
 * kube's event printer (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; more with -o wide).
 */
import type { ColumnDefinition, KindDef, TableDef } from "../kind.js";
import { type KubeObject, objectReferenceSchema, objectSchema } from "../meta.js";
import { int32, obj, str, time } from "../schema.js";
import { column, humanDuration, nameColumn } from "../table.js";
import { dns1123Subdomain } from "../validation.js";
import { validateEventCreate, validateEventUpdate } from "./events-validation.js";
import { asObj, text } from "./json.js";

/** Fields renamed between core/v1 (storage) and events.k8s.io/v1. */
const renames: [core: string, events: string][] = [
  ["message", "note"],
  ["involvedObject", "regarding"],
  ["reportingComponent", "reportingController"],
  ["count", "deprecatedCount"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["source", "deprecatedSource"],
];

function rename(o: KubeObject, apiVersion: string, from: 0 | 1): KubeObject {
  const out: KubeObject = { ...o, apiVersion, kind: "Event" };
  for (const pair of renames) {
    const a = pair[from];
    const b = pair[1 - from] as string;
    delete out[a];
    if (o[a] !== undefined) out[b] = o[a];
  }
  // An empty source is how core/v1 leaves it unset; events.k8s.io omits it.
  if (from === 0 && Object.keys(asObj(out.deprecatedSource)).length === 0) delete out.deprecatedSource;
  // events.k8s.io/v1 eventTime is not omitempty: a core/v1 Event without one reads as null.
  if (from === 0) out.eventTime ??= null;
  return out;
}

/** core/v1 form -> events.k8s.io/v1 form. */
export const coreToEvents = (o: KubeObject): KubeObject =>
  o.apiVersion === "events.k8s.io/v1" ? o : rename(o, "events.k8s.io/v1", 0);
/** events.k8s.io/v1 form -> core/v1 form. */
export const eventsToCore = (o: KubeObject): KubeObject => (o.apiVersion === "v1" ? o : rename(o, "v1", 1));

const micro = (d?: string) => str(d, { format: "date-time" });
const seriesSchema = obj({ count: int32(), lastObservedTime: micro() });
const sourceSchema = obj({ component: str(), host: str() });

/** The core/v1 Event fields (what is stored). */
export const coreEventFields = {
  involvedObject: objectReferenceSchema,
  reason: str("This should be a short, machine understandable string that gives the reason for the event."),
  message: str("A human-readable description of the status of this operation."),
  source: sourceSchema,
  firstTimestamp: time("The time at which the event was first recorded."),
  lastTimestamp: time("The time at which the most recent occurrence of this event was recorded."),
  count: int32("The number of times this event has occurred."),
  type: str("Type of this event (Normal, Warning), new types could be added in the future"),
  eventTime: micro("Time when this Event was first observed."),
  series: seriesSchema,
  action: str("What action was taken/failed regarding to the Regarding object."),
  related: objectReferenceSchema,
  reportingComponent: str("Name of the controller that emitted this Event."),
  reportingInstance: str("ID of the controller instance."),
};

const since = (t: unknown, now: Date) =>
  typeof t === "string" && t !== "" && !Number.isNaN(Date.parse(t))
    ? humanDuration(now.getTime() - Date.parse(t))
    : "<unknown>";

const firstNonEmpty = (...v: unknown[]) => (v.find((x) => typeof x === "string" && x !== "") as string) ?? "";

const eventColumns: ColumnDefinition[] = [
  column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
  column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
  column(
    "Reason",
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  column("Object", "The object that this event is about."),
  column(
    "Subobject",
    "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
    "string",
    1,
  ),
  column(
    "Source",
    "The component reporting this event. Should be a short machine understandable string.",
    "string",
    1,
  ),
  column("Message", "A human-readable description of the status of this operation."),
  column(
    "First Seen",
    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    "string",
    1,
  ),
  column("Count", "The number of times this event has occurred.", "string", 1),
  { ...nameColumn, priority: 1 },
];

/** kube's printEvent over the core/v1 form (the server prints wide; kubectl hides priority 1). */
export const eventTable: TableDef = {
  noAge: true,
  noName: true,
  columns: eventColumns,
  cells(stored, now) {
    const ev = eventsToCore(stored);
    const io = asObj(ev.involvedObject);
    const series = ev.series === undefined ? undefined : asObj(ev.series);
    const first = ev.firstTimestamp ? since(ev.firstTimestamp, now) : since(ev.eventTime, now);
    let last = ev.lastTimestamp ? since(ev.lastTimestamp, now) : first;
    let count = typeof ev.count === "number" ? ev.count : 0;
    if (series !== undefined) {
      last = since(series.lastObservedTime, now);
      count = typeof series.count === "number" ? series.count : 0;
    } else if (count === 0) count = 1;
    const kind = text(io.kind ?? "").toLowerCase();
    const source = asObj(ev.source);
    const component = firstNonEmpty(source.component, ev.reportingComponent);
    const instance = firstNonEmpty(source.host, ev.reportingInstance);
    return [
      last,
      text(ev.type),
      text(ev.reason),
      text(io.name) ? `${kind}/${text(io.name)}` : kind,
      text(io.fieldPath),
      instance === "" ? component : `${component}, ${instance}`,
      text(ev.message ?? "").trim(),
      first,
      count,
      ev.metadata.name,
    ];
  },
};

export const eventsEventKind: KindDef = {
  group: "events.k8s.io",
  version: "v1",
  kind: "Event",
  resource: "events",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  categories: [],
  description:
    "Event is a report of an event somewhere in the cluster. It generally denotes some state change in the system.",
  schema: objectSchema("Event is a report of an event somewhere in the cluster.", {
    eventTime: micro("The time at which the event was first recorded."),
    series: seriesSchema,
    reportingController: str("Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`."),
    reportingInstance: str("ID of the controller instance, e.g. `kubelet-xyzf`."),
    action: str("What action was taken/failed regarding to the regarding object."),
    reason: str("Why the action was taken."),
    regarding: objectReferenceSchema,
    related: objectReferenceSchema,
    note: str("A human-readable description of the status of this operation."),
    type: str("Type of this event (Normal, Warning), new types could be added in the future."),
    deprecatedSource: sourceSchema,
    deprecatedFirstTimestamp: time(),
    deprecatedLastTimestamp: time(),
    deprecatedCount: int32(),
  }),
  nameRule: dns1123Subdomain,
  subresources: [],
  hasStatus: false,
  validate: (ev, old) =>
    old === undefined
      ? validateEventCreate(eventsToCore(ev))
      : validateEventUpdate(eventsToCore(ev), eventsToCore(old)),
  table: eventTable,
  storageConversion: { toStorage: eventsToCore, fromStorage: coreToEvents },
};
