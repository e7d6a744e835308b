/**
 * The transport of a member that has no peers and takes none (the API server's embedded
 * single-member store): no listener and no dialing, so nothing on the machine can reach the
 * member over the network. Messages to other members cannot exist in a one-member cluster; any
 * that appear (a member added later) are dropped, and a snapshot to one is reported failed.
 */
import { type Message, MessageType, type NodeId } from "@skiff/raft";
import type { Transport, TransportHandler } from "./transport.js";

export class LocalTransport implements Transport {
  private handler: TransportHandler | undefined;

  async start(handler: TransportHandler): Promise<void> {
    this.handler = handler;
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type !== MessageType.MsgSnap) continue;
      // Deferred, as the TCP transport does: the node may be inside send().
      queueMicrotask(() => this.handler?.onSnapshotStatus(m.to, false));
    }
  }

  /** Nothing to dial: messages to it are dropped (and it can never catch up). */
  addPeer(_id: NodeId, _address: string): void {}

  removePeer(_id: NodeId): void {}

  async stop(): Promise<void> {
    this.handler = undefined;
  }
}
