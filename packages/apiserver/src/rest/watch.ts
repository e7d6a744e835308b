/**
 * Watches: `?watch=true` on a collection (or on one object through fieldSelector
 * metadata.name=x). The answer is HTTP 200 with one JSON event per line, flushed per event:
 * {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}.
 *
 * resourceVersion semantics (KUBECTL.md, kube-apiserver): unset or "0" = synthetic ADDED events
 * for the current state, then changes; N = changes after N, or an ERROR event with a 410 Expired
 * Status when N is compacted away. An object that stops matching the selectors is DELETED for
 * the watcher, one that starts matching is ADDED. The stream ends after timeoutSeconds (then the
 * client re-lists or resumes), when the client goes away, or at server shutdown.
 */
import type { KubeObject } from "@skiff/api";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "../selectors.js";
import { expired } from "../status.js";
import type { Kv, WatchEvent } from "../storage/etcd.js";
import { decodeObject, type RegistryStore } from "../storage/registry-store.js";
import type { ResourcePath } from "./path.js";

export interface WatchSink {
  /** Writes one line; false when the client is slow (its buffer is full). */
  write(line: string): boolean;
  end(): void;
  onClose(f: () => void): void;
}

export interface WatchOptions {
  query: Record<string, string | undefined>;
  /** Events a slow client may have pending before it is cut off (bounded memory). */
  maxPending?: number;
  /** Wraps each event's object (Table mode renders one-row Tables). */
  render?: (obj: KubeObject) => unknown;
}

type EventType = "ADDED" | "MODIFIED" | "DELETED";

function objectOf(kv: Kv, revision?: string): KubeObject {
  const obj = decodeObject(kv);
  if (revision !== undefined) obj.metadata.resourceVersion = revision;
  return obj;
}

/** Serves one watch until it ends; resolves when the stream is closed. */
export function serveWatch(
  store: RegistryStore,
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
  const maxPending = opts.maxPending ?? 1000;

  return new Promise<void>((resolve) => {
    let closed = false;
    let handle: { cancel(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let slow = 0;
    const close = () => {
      if (closed) return;
      closed = true;
      handle?.cancel();
      clearTimeout(timer);
      stopping.removeEventListener("abort", close);
      sink.end();
      resolve();
    };
    sink.onClose(close);
    stopping.addEventListener("abort", close);
    const timeout = Number(q.timeoutSeconds ?? 0);
    if (timeout > 0) timer = setTimeout(close, timeout * 1000);

    const emit = (type: EventType, obj: KubeObject) => {
      if (closed) return;
      if (!send(type, render(obj))) slow++;
      else slow = 0;
      // A client that cannot keep up is cut off; it re-lists or resumes from what it got.
      if (slow > maxPending) close();
    };

    const onEvents = (events: WatchEvent[]) => {
      for (const e of events) {
        if (closed) return;
        const rev = e.kv.mod_revision;
        const prev = e.prevKv === undefined ? undefined : objectOf(e.prevKv, rev);
        if (e.type === "delete") {
          if (prev !== undefined && matches(prev)) emit("DELETED", prev);
          continue;
        }
        const obj = objectOf(e.kv);
        const now = matches(obj);
        const before = prev !== undefined && matches(prev);
        if (now && !before) emit("ADDED", obj);
        else if (now && before) emit("MODIFIED", obj);
        else if (!now && before) emit("DELETED", obj);
      }
    };

    const watchFrom = (revision: number) => {
      handle = store.watch(path.kind, path.namespace, revision, {
        events: onEvents,
        failed: (reason) => {
          if (reason.compacted !== undefined) {
            send(
              "ERROR",
              expired(`too old resource version: ${revision - 1} (${reason.compacted})`).toStatus(),
            );
          }
          close();
        },
      });
    };

    const rv = q.resourceVersion;
    if (rv === undefined || rv === "" || rv === "0") {
      // Synthetic ADDED events for what exists now, then changes after that revision.
      store.list(path.kind, path.namespace).then(
        (page) => {
          if (closed) return;
          for (const o of page.items) if (matches(o)) emit("ADDED", o);
          if (q.allowWatchBookmarks === "true" && !closed)
            send("BOOKMARK", {
              kind: path.kind.kind,
              apiVersion: "v1",
              metadata: { resourceVersion: String(page.revision) },
            });
          if (!closed) watchFrom(page.revision + 1);
        },
        () => close(),
      );
    } else {
      const n = Number(rv);
      if (!Number.isInteger(n) || n < 0) {
        send("ERROR", expired(`invalid resource version: ${rv}`).toStatus());
        close();
        return;
      }
      watchFrom(n + 1);
    }
  });
}
