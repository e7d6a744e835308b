import type { Message, NodeId } from "@skiff/raft";

/** Callbacks a transport reports to its node. */
export interface TransportHandler {
  /** A message from a peer (a MsgSnap arrives only once all its chunks have). */
  onMessage(m: Message): void;
  /** A peer could not be reached: the leader goes back to probing it. */
  onUnreachable(id: NodeId): void;
  /** Whether a MsgSnap this member sent was delivered whole (true) or failed (false). */
  onSnapshotStatus(id: NodeId, ok: boolean): void;
}

/**
 * Raft message delivery between members. One ordered stream per peer; sending never blocks and
 * uses bounded memory per peer (a slow or dead peer has its excess dropped, and counted): Raft
 * tolerates loss. Two implementations share one contract suite: TCP and the simulator's network.
 */
export interface Transport {
  start(handler: TransportHandler): Promise<void>;
  /** Queues messages for their `to` peers, in order per peer. */
  send(messages: readonly Message[]): void;
  addPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
  stop(): Promise<void>;
}
