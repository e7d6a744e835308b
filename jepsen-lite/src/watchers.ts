/**
 * Watchers that follow the prefix `jepsen/` for the whole run, with prev_kv, from revision 1. Each
 * starts on its own member; when its stream fails (member killed, paused, removed, partitioned) it
 * reconnects to the next member and resumes from the revision after the last event it saw. Every
 * response is kept as one batch, for the watch checker (check/watch.ts).
 */
import { closeEtcdClients, type EtcdClients, etcdClients } from "@skiff/etcd-client";
import type { WatchEvent, WatcherStream } from "./check/watch.js";

export const WATCH_PREFIX = "jepsen/";
const rangeEnd = "jepsen0"; // "/" + 1 = "0": every key under the prefix

interface Kv {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
}
interface WatchResponse {
  created: boolean;
  canceled: boolean;
  cancel_reason: string;
  compact_revision: string;
  events: { type: number; kv: Kv; prev_kv: Kv | null }[];
}

/** The part of grpc-js's duplex stream this module uses. */
interface ClientDuplexStream<Req, Res> {
  write(req: Req): boolean;
  cancel(): void;
  on(event: "data", f: (res: Res) => void): this;
  on(event: "error", f: (e: Error) => void): this;
  on(event: "end", f: () => void): this;
  removeAllListeners(event: string): this;
}

export class Watcher {
  readonly stream: WatcherStream;
  /** The revision this watcher has seen every event up to (the last event's revision). */
  lastRevision = 0;
  reconnects = 0;
  errors: string[] = [];
  private node: number;
  private call: ClientDuplexStream<object, WatchResponse> | undefined;
  private clients: EtcdClients | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    private readonly targets: string[],
    first: number,
  ) {
    this.node = first % targets.length;
    this.stream = {
      id,
      range: { start: WATCH_PREFIX, end: rangeEnd },
      startRevision: 1,
      prevKv: true,
      batches: [],
    };
  }

  start(): void {
    this.connect();
  }

  /** Drops the current stream and resumes on the next member (used when a stream seems stuck). */
  reconnect(reason: string): void {
    if (this.closed) return;
    this.errors.push(reason);
    this.reconnects++;
    this.teardown();
    this.node = (this.node + 1) % this.targets.length;
    this.timer = setTimeout(() => this.connect(), 200);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.teardown();
  }

  private teardown(): void {
    const call = this.call;
    this.call = undefined;
    call?.removeAllListeners("data");
    call?.cancel();
    if (this.clients !== undefined) closeEtcdClients(this.clients);
    this.clients = undefined;
  }

  private connect(): void {
    if (this.closed) return;
    const clients = etcdClients(this.targets[this.node] as string);
    this.clients = clients;
    const watch = (
      clients.Watch as unknown as { Watch(): ClientDuplexStream<object, WatchResponse> }
    ).Watch();
    this.call = watch;
    watch.on("data", (res: WatchResponse) => {
      if (watch !== this.call) return;
      if (res.canceled) {
        this.reconnect(`canceled: ${res.cancel_reason} (compact revision ${res.compact_revision})`);
        return;
      }
      if (res.events.length === 0) return;
      const batch = res.events.map((e): WatchEvent => {
        const put = e.type === 0;
        return {
          revision: Number(e.kv.mod_revision),
          key: e.kv.key.toString(),
          type: put ? "put" : "delete",
          value: put ? e.kv.value.toString() : null,
          prevValue: e.prev_kv === null || e.prev_kv === undefined ? null : e.prev_kv.value.toString(),
        };
      });
      this.stream.batches.push(batch);
      this.lastRevision = Math.max(this.lastRevision, ...batch.map((e) => e.revision));
    });
    watch.on("error", (e: Error) => {
      if (watch === this.call) this.reconnect(e.message.slice(0, 200));
    });
    watch.on("end", () => {
      if (watch === this.call) this.reconnect("stream ended");
    });
    watch.write({
      create_request: {
        key: Buffer.from(WATCH_PREFIX),
        range_end: Buffer.from(rangeEnd),
        start_revision: String(this.lastRevision + 1),
        prev_kv: true,
      },
    });
  }
}

/**
 * Waits until every watcher has seen `revision` (the store's last revision after the final
 * reads), reconnecting a watcher that makes no progress for 5 s; gives up after `timeoutMs` (the
 * checker then reports the missing events as gaps). Sets each stream's endRevision.
 */
export async function catchUp(watchers: Watcher[], revision: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const w of watchers) {
    let last = w.lastRevision;
    let since = Date.now();
    while (w.lastRevision < revision && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      if (w.lastRevision !== last) {
        last = w.lastRevision;
        since = Date.now();
      } else if (Date.now() - since > 5000) {
        w.reconnect("no progress for 5 s while catching up");
        since = Date.now();
      }
    }
    w.stream.endRevision = revision;
  }
}
