/**
 * Watches (kube: handlers/watch.go serveWatch): `?watch=true` on a collection (or on one object through fieldSelector
 * metadata.name=x). The answer is HTTP 200 with one JSON event per line, flushed per event:
 * {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}.
 *
 * resourceVersion semantics (Kubernetes API concepts, "Semantics for watch"): unset or "0" = synthetic ADDED events
 * for the current state, then changes; N = changes after N, or an ERROR event with a 410 Expired
 * Status when N is older than the watch cache's window (storage/watch-cache.ts). An object that stops matching the selectors is DELETED for
 * the watcher, one that starts matching is ADDED. The stream ends after timeoutSeconds (then the
 * client re-lists or resumes), when the client goes away, or at server shutdown.
 */
import type { KubeObject } from "@skiff/api";
import type { ResourcePath } from "../request/requestinfo.js";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "../selectors.js";
import { expired } from "../status.js";
import { InvalidResourceVersion, versioner } from "../storage/versioner.js";
import type { CacheEvent, Subscription, WatchCache } from "../storage/watch-cache.js";

export interface WatchSink {
  /** Writes one line; false when the client is slow (its buffer is full). */
  write(line: string): boolean;
  end(): void;
  onClose(f: () => void): void;
}

export interface WatchOptions {
  query: Record<string, string | undefined>;
  /** Wraps each event's object (Table mode renders one-row Tables). */
  render?: (obj: KubeObject) => unknown;
  /** With allowWatchBookmarks: a BOOKMARK with the cache's revision this often (kube: about a minute). */
  bookmarkIntervalMs?: number;
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
  path: ResourcePath,
  sink: WatchSink,
  opts: WatchOptions,
  stopping: AbortSignal,
): Promise<void> {
  const q = opts.query;
  const labels = parseLabelSelector(q.labelSelector);
  const fields = parseFieldSelector(q.fieldSelector, path.kind.resource);
  const matches = (o: KubeObject) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);
  const render = opts.render ?? ((o: KubeObject) => o);
  const send = (type: EventType | "BOOKMARK" | "ERROR", object: unknown) =>
    sink.write(`${JSON.stringify({ type, object })}\n`);
  const rc = await cache.for(path.kind);

  return new Promise<void>((resolve) => {
    let closed = false;
    let sub: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      sub?.cancel();
      clearTimeout(timer);
      clearInterval(bookmarks);
      stopping.removeEventListener("abort", close);
      sink.end();
      resolve();
    };
    sink.onClose(close);
    stopping.addEventListener("abort", close);
    const timeout = Number(q.timeoutSeconds ?? 0);
    if (timeout > 0) timer = setTimeout(close, timeout * 1000);
    // Bookmarks tell a client how far it is up to date even when nothing changes, so that a
    // resumed watch does not start from a revision the cache has let go of.
    const bookmark = (revision = rc.revision) => {
      const object: KubeObject = { kind: path.kind.kind, apiVersion: "v1", metadata: {} };
      versioner.updateObject(object, revision);
      send("BOOKMARK", object);
    };
    const bookmarks =
      q.allowWatchBookmarks === "true"
        ? setInterval(() => bookmark(), opts.bookmarkIntervalMs ?? 60_000)
        : undefined;

    /** Writes the events this watcher sees; false when its client is not keeping up. */
    const deliver = (events: CacheEvent[]): boolean => {
      let ok = true;
      for (const e of events) {
        if (closed) return true;
        const now = e.type !== "DELETED" && matches(e.object);
        const before = e.prev !== undefined && matches(e.prev);
        let type: EventType | undefined;
        if (e.type === "DELETED") type = before ? "DELETED" : undefined;
        else if (now) type = before ? "MODIFIED" : "ADDED";
        else if (before) type = "DELETED"; // stopped matching the selectors
        if (type === undefined) continue;
        // Without a Table rendering, every watcher sends the same line: make it once per event.
        ok =
          (opts.render === undefined ? sink.write(sharedLine(e, type)) : send(type, render(e.object))) && ok;
      }
      return ok;
    };
    const subscriber = {
      deliver,
      closed: () => close(), // reset or too slow: the client re-lists or resumes
    };

    const rv = q.resourceVersion;
    let from: number;
    try {
      from = versioner.parseResourceVersion(rv);
    } catch (e) {
      if (!(e instanceof InvalidResourceVersion)) throw e;
      send("ERROR", expired(`invalid resource version: ${rv}`).toStatus());
      close();
      return;
    }
    if (from === 0) {
      // Synthetic ADDED events for what exists now, then changes after that revision.
      const snap = rc.list(path.namespace);
      for (const o of snap.items) if (matches(o)) send("ADDED", render(o));
      if (q.allowWatchBookmarks === "true") bookmark(snap.revision);
      from = snap.revision;
    }
    sub = rc.subscribe(path.namespace, from, subscriber);
    if (sub === undefined) {
      send("ERROR", expired(`too old resource version: ${from} (${rc.revision})`).toStatus());
      close();
    }
  });
}
