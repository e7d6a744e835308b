/**
 * Watches (kube: handlers/watch.go serveWatch and the cacher's Watch): `?watch=true` on a
 * collection. The answer is HTTP 200 with one JSON event per line, flushed per event:
 * {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}.
 *
 * resourceVersion (Kubernetes API concepts, "Semantics for watch"): unset or "0" = synthetic ADDED
 * events for the current state, then changes; N = changes after N, or an ERROR event with a 410
 * Expired Status when N is older than the watch cache's window (N not reached yet: the events
 * after N as they come, as kube). `sendInitialEvents=true` (with resourceVersionMatch=NotOlderThan)
 * waits for the cache to reach N (or the store's revision), up to 3 s, else ERROR 504 Too large
 * resource version; then sends the state as ADDED events and, with allowWatchBookmarks, a
 * BOOKMARK annotated `k8s.io/initial-events-end: "true"`;
 * `sendInitialEvents=false` sends changes only. An object that stops matching the selectors is
 * DELETED for the watcher, one that starts matching is ADDED. The stream ends after
 * timeoutSeconds, when the client goes away, or at server shutdown.
 */
import { apiVersionOf, type KubeObject } from "@skiff/api";
import { firstValue, type ListOptions, listOptions } from "../request/list-options.js";
import type { ResourcePath } from "../request/requestinfo.js";
import {
  type FieldRequirement,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  type Requirement,
} from "../selectors.js";
import { expired, internalError, StatusError, tooLargeResourceVersion } from "../status.js";
import type { EtcdKV } from "../storage/etcd.js";
import { InvalidResourceVersion, versioner } from "../storage/versioner.js";
import type { CacheEvent, Subscription, WatchCache } from "../storage/watch-cache.js";
import { FRESHNESS_WAIT_MS } from "./list.js";

export interface WatchSink {
  /** Writes one line; false when the client is slow (its buffer is full). */
  write(line: string): boolean;
  end(): void;
  onClose(f: () => void): void;
}

export interface WatchOptions {
  /** Wraps each event's object (Table mode renders one-row Tables; metadata-only strips it). */
  render?: (obj: KubeObject) => unknown;
  /** Wraps bookmark objects (metadata-only watches get PartialObjectMetadata bookmarks). */
  renderBookmark?: (obj: KubeObject) => unknown;
  /** With allowWatchBookmarks: a BOOKMARK with the cache's revision this often (kube: about a minute). */
  bookmarkIntervalMs?: number;
}

/** A watch request, checked before its stream starts (errors here are plain HTTP answers). */
export interface WatchPlan {
  path: ResourcePath;
  opts: ListOptions;
  revision: number;
  labels: Requirement[];
  fields: FieldRequirement[];
}

/** Validates a watch's query: 400 for what does not parse, 422 for what kube's validation refuses. */
export function planWatch(path: ResourcePath, query: Record<string, string | undefined>): WatchPlan {
  const opts = listOptions(query, true);
  const labels = parseLabelSelector(firstValue(query.labelSelector));
  const fields = parseFieldSelector(firstValue(query.fieldSelector), path.kind.resource);
  let revision: number;
  try {
    revision = versioner.parseResourceVersion(opts.resourceVersion);
  } catch (e) {
    if (!(e instanceof InvalidResourceVersion)) throw e;
    // kube's InterpretWatchError: errors.NewInvalid for the resource, with no name.
    const { group, resource } = path.kind;
    const qualified = group === "" ? resource : `${resource}.${group}`;
    throw new StatusError(422, "Invalid", `${qualified} "" is invalid: ${e.message}`, {
      group,
      kind: resource,
      causes: [
        {
          reason: "FieldValueInvalid",
          message: e.message.replace(/^resourceVersion: /, ""),
          field: "resourceVersion",
        },
      ],
    });
  }
  return { path, opts, revision, labels, fields };
}

type EventType = "ADDED" | "MODIFIED" | "DELETED";

const lines = new WeakMap<CacheEvent, Map<EventType, string>>();

/** The JSON line of a cache event as `type`, made once and shared by all watchers. */
function sharedLine(e: CacheEvent, type: EventType): string {
  let m = lines.get(e);
  if (m === undefined) {
    m = new Map();
    lines.set(e, m);
  }
  let line = m.get(type);
  if (line === undefined) {
    line = `${JSON.stringify({ type, object: e.object })}\n`;
    m.set(type, line);
  }
  return line;
}

/** Serves one watch until it ends; resolves when the stream is closed. */
export async function serveWatch(
  cache: WatchCache,
  kv: EtcdKV,
  plan: WatchPlan,
  sink: WatchSink,
  opts: WatchOptions,
  stopping: AbortSignal,
): Promise<void> {
  const { path, labels, fields } = plan;
  const o = plan.opts;
  const matches = (x: KubeObject) => matchesLabels(labels, x.metadata.labels) && matchesFields(fields, x);
  const render = opts.render ?? ((x: KubeObject) => x);
  const send = (type: EventType | "BOOKMARK" | "ERROR", object: unknown) =>
    sink.write(`${JSON.stringify({ type, object })}\n`);
  const rc = await cache.for(path.kind);

  let closed = false;
  let sub: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  let bookmarks: NodeJS.Timeout | undefined;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const close = () => {
    if (closed) return;
    closed = true;
    sub?.cancel();
    clearTimeout(timer);
    clearInterval(bookmarks);
    stopping.removeEventListener("abort", close);
    sink.end();
    resolveDone();
  };
  sink.onClose(close);
  stopping.addEventListener("abort", close);
  if (stopping.aborted) close();
  if (o.timeoutSeconds > 0) timer = setTimeout(close, o.timeoutSeconds * 1000);

  // Bookmarks tell a client how far it is up to date even when nothing changes, so that a
  // resumed watch does not start from a revision the cache has let go of.
  const bookmark = (revision: number, initialEventsEnd = false) => {
    const object: KubeObject = { kind: path.kind.kind, apiVersion: apiVersionOf(path.kind), metadata: {} };
    if (initialEventsEnd) object.metadata.annotations = { "k8s.io/initial-events-end": "true" };
    versioner.updateObject(object, revision);
    send("BOOKMARK", opts.renderBookmark?.(object) ?? object);
  };
  const fail = (e: StatusError) => {
    send("ERROR", e.toStatus());
    close();
  };

  /**
   * Writes the events this watcher sees, a batch in one write (one chunk and one TLS record
   * instead of one per event); false when its client is not keeping up.
   */
  const deliver = (events: CacheEvent[]): boolean => {
    if (closed) return true;
    let out = "";
    for (const e of events) {
      const now = e.type !== "DELETED" && matches(e.object);
      const before = e.prev !== undefined && matches(e.prev);
      let type: EventType | undefined;
      if (e.type === "DELETED") type = before ? "DELETED" : undefined;
      else if (now) type = before ? "MODIFIED" : "ADDED";
      else if (before) type = "DELETED"; // stopped matching the selectors
      if (type === undefined) continue;
      // Without a rendering, every watcher sends the same line: make it once per event.
      out +=
        opts.render === undefined
          ? sharedLine(e, type)
          : `${JSON.stringify({ type, object: render(e.object) })}\n`;
    }
    return out === "" ? true : sink.write(out);
  };

  // kube's getWatchCacheResourceVersion: N, or with sendInitialEvents and no resourceVersion, the
  // store's current revision (a consistent start); 0 = any.
  let required = plan.revision;
  if (o.resourceVersion === "" && o.sendInitialEvents !== undefined && !closed) {
    try {
      required = (await kv.range("/registry/", { countOnly: true })).revision;
    } catch (e) {
      fail(internalError(`the store's revision: ${(e as Error).message}`));
      return done;
    }
  }
  // Only initial events need the cache at that revision first (kube waits up to 3 s, then the
  // watch ends with 504 Too large resource version). A plain watch from a revision the cache has
  // not reached yet is accepted, as in kube: the client just gets the events after it.
  if (
    o.sendInitialEvents === true &&
    required > 0 &&
    !closed &&
    !(await rc.waitFresh(required, FRESHNESS_WAIT_MS))
  ) {
    fail(tooLargeResourceVersion(required, rc.revision));
    return done;
  }
  if (closed) return done;

  let from = required;
  if (o.sendInitialEvents ?? plan.revision === 0) {
    // The state now as synthetic ADDED events, then changes after its revision.
    const snap = rc.snapshot(path.namespace);
    for (const x of snap.items) if (matches(x)) send("ADDED", render(x));
    if (o.allowWatchBookmarks) bookmark(snap.revision, o.sendInitialEvents === true);
    from = snap.revision;
  } else if (from === 0) from = rc.revision; // sendInitialEvents=false from "0": from now on
  sub = rc.subscribe(path.namespace, from, { deliver, closed: () => close() });
  if (sub === undefined) {
    fail(expired(`too old resource version: ${from} (${rc.windowStart})`));
    return done;
  }
  // A bookmark never goes back before the watch's start; each tick also asks the store for
  // progress, so that a quiet type's bookmarks move forward.
  if (o.allowWatchBookmarks)
    bookmarks = setInterval(() => {
      if (rc.revision > from) bookmark(rc.revision);
      rc.requestProgress();
    }, opts.bookmarkIntervalMs ?? 60_000);
  return done;
}
