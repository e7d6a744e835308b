/**
 * Forwards lease keep-alives from a follower to the leader over one long-lived LeaseKeepAlive
 * stream (etcd forwards them to the leader too): only the leader knows when leases expire.
 * Answers come back in request order on a stream; they are matched by lease id.
 */

import type * as g from "@skiff/etcd-client";
import type { EtcdClients } from "@skiff/etcd-client";
import { EtcdError } from "../grpc/errors.js";

type KeepAliveStream = NodeJS.ReadWriteStream & { write(r: object): boolean; end(): void };

interface Pending {
  resolve(r: g.LeaseKeepAliveResponse): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

export class KeepAliveForwarder {
  private stream: KeepAliveStream | undefined;
  private readonly pending = new Map<string, Pending[]>();

  constructor(private readonly clients: EtcdClients) {}

  send(id: string, timeoutMs = 5000): Promise<g.LeaseKeepAliveResponse> {
    const stream = this.open();
    return new Promise((resolve, reject) => {
      const queue = this.pending.get(id) ?? [];
      const p: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const q = this.pending.get(id);
          if (q !== undefined) q.splice(q.indexOf(p), 1);
          reject(new EtcdError("Timeout"));
        }, timeoutMs),
      };
      queue.push(p);
      this.pending.set(id, queue);
      stream.write({ ID: id });
    });
  }

  close(): void {
    this.stream?.end();
    this.failAll(new EtcdError("LeaderChanged"));
  }

  private open(): KeepAliveStream {
    if (this.stream !== undefined) return this.stream;
    const stream = (this.clients.Lease as unknown as { LeaseKeepAlive(): KeepAliveStream }).LeaseKeepAlive();
    stream.on("data", (resp: g.LeaseKeepAliveResponse) => {
      const id = String(resp.ID);
      const p = this.pending.get(id)?.shift();
      if (p === undefined) return;
      clearTimeout(p.timer);
      p.resolve(resp);
    });
    const broken = (e: unknown) => {
      if (this.stream === stream) this.stream = undefined;
      this.failAll(e);
    };
    stream.on("error", broken);
    stream.on("end", () => broken(new EtcdError("LeaderChanged")));
    this.stream = stream;
    return stream;
  }

  private failAll(e: unknown): void {
    for (const q of this.pending.values()) {
      for (const p of q) {
        clearTimeout(p.timer);
        p.reject(e);
      }
    }
    this.pending.clear();
  }
}
