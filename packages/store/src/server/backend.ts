/**
 * The etcd v3 API on the replicated store: writes go through Raft (RaftNode.propose) and answer
 * with the result of applying them; linearizable reads wait for a ReadIndex, serializable reads
 * answer from this member's state; watches are served from the MVCC history; lease expiry is the
 * leader's (Lessor). Errors are etcd's (EtcdError, see ../grpc/errors.ts).
 */

import type * as g from "@skiff/etcd-client";
import {
  AlarmAction,
  AlarmType,
  closeEtcdClients,
  type EtcdClients,
  etcdClients,
  unaryCall,
} from "@skiff/etcd-client";
import { ConfChangeType, type NodeId } from "@skiff/raft";
import { memberIdFromPeerUrls } from "../cluster/config.js";
import { type EtcdBackend, notImplementedBackend } from "../grpc/backend.js";
import { EtcdError, type EtcdErrorCode, etcdErrorCodeOf, failStream } from "../grpc/errors.js";
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest } from "../mvcc/check.js";
import { MvccError } from "../mvcc/errors.js";
import type * as m from "../mvcc/types.js";
import { RaftNodeError } from "../raftnode/errors.js";
import type { RaftNode } from "../raftnode/node.js";
import * as c from "./convert.js";
import { hashKV, storeHash } from "./hash.js";
import { KeepAliveForwarder } from "./keepalive-forward.js";
import { isLearnerReady } from "./learner.js";
import { Lessor, NotPrimaryError } from "./lessor.js";
import { defaultQuotaBytes, hasNoSpaceAlarm, quotaAdmission, quotaAvailable, quotaCost } from "./quota.js";
import { isTxnReadOnly, isTxnSerializable } from "./readonly-txn.js";
import { encodeSnapshotFile } from "./snapshotfile.js";
import {
  encodeRequest,
  maxLeaseTTL,
  type StoreRequest,
  type StoreResult,
  type StoreStateMachine,
} from "./statemachine.js";
import { WatchHub } from "./watch.js";

export const storeVersion = "3.4.23";

const mvccToEtcd: Record<string, EtcdErrorCode> = {
  compacted: "Compacted",
  futureRev: "FutureRev",
  keyNotFound: "KeyNotFound",
  emptyKey: "EmptyKey",
  valueProvided: "ValueProvided",
  leaseProvided: "LeaseProvided",
  tooManyOps: "TooManyOps",
  duplicateKey: "DuplicateKey",
  leaseNotFound: "LeaseNotFound",
  LeaseExist: "LeaseExist",
  NoSpace: "NoSpace",
};

const raftToEtcd: Record<RaftNodeError["code"], EtcdErrorCode> = {
  NoLeader: "NoLeader",
  Timeout: "Timeout",
  Stopped: "Stopped",
  StorageFailed: "Corrupt",
  NotLeader: "NotLeader",
};

/** etcd's errors for what went wrong below the API. */
export function toEtcdError(e: unknown): unknown {
  if (e instanceof MvccError) return new EtcdError(mvccToEtcd[e.code] ?? "Timeout");
  if (e instanceof RaftNodeError) return new EtcdError(raftToEtcd[e.code]);
  return e;
}

export interface StoreBackendOptions {
  readonly node: RaftNode;
  readonly sm: StoreStateMachine;
  readonly clusterId: bigint;
  /** --initial-cluster-token: member ids derive from it and the peer URLs. */
  readonly clusterToken: string;
  /** etcd --quota-backend-bytes: writes fail with NOSPACE above it (2 GiB default). */
  readonly quotaBackendBytes?: number;
  /** etcd --max-request-bytes: a larger request fails with "request is too large". */
  readonly maxRequestBytes?: number;
  /** etcd --max-txn-ops. */
  readonly maxTxnOps?: number;
  /** This member's name and advertised client URLs (published to the cluster at start). */
  readonly name: string;
  readonly clientURLs: string[];
  /** The lease TTL floor (etcd: 1.5 election timeouts, rounded up to seconds). */
  readonly minLeaseTTL: number;
  /**
   * Test-only, deliberately broken: serve linearizable reads from the local state without a
   * ReadIndex, so a partitioned or lagging member answers stale data (jepsen-lite must catch it).
   */
  readonly unsafeStaleReads?: boolean;
  /** --experimental-watch-batch-interval (ms): see WatchHubOptions. */
  readonly watchBatchIntervalMs?: number;
}

export class StoreBackend {
  readonly watch: WatchHub;
  readonly lessor: Lessor;
  private readonly node: RaftNode;
  private readonly sm: StoreStateMachine;
  private leaseSeq = 0n;
  private forward: { leader: NodeId; clients: EtcdClients; keepAlive: KeepAliveForwarder } | undefined;

  constructor(private readonly o: StoreBackendOptions) {
    this.node = o.node;
    this.sm = o.sm;
    this.watch = new WatchHub(o.sm, () => this.hdr(), { batchIntervalMs: o.watchBatchIntervalMs });
    this.lessor = new Lessor(o.node, o.sm, (id) => this.propose({ op: "leaseRevoke", id }));
    o.sm.admit = quotaAdmission(o.sm, this.quotaBytes());
  }

  private quotaBytes(): number {
    return this.o.quotaBackendBytes ?? defaultQuotaBytes;
  }

  start(): void {
    this.lessor.start();
  }

  stop(): void {
    this.lessor.stop();
    this.watch.close();
    if (this.forward !== undefined) {
      this.forward.keepAlive.close();
      closeEtcdClients(this.forward.clients);
    }
  }

  /** Publishes this member's name and client URLs through Raft (etcd's publish), retrying until it lands. */
  async publish(signal?: AbortSignal): Promise<void> {
    const memberId = String(this.node.id);
    for (;;) {
      if (signal?.aborted === true) return;
      const a = this.sm.attributes.get(memberId);
      if (a !== undefined && a.name === this.o.name && a.clientURLs.join(",") === this.o.clientURLs.join(","))
        return;
      try {
        await this.propose({ op: "publish", memberId, name: this.o.name, clientURLs: this.o.clientURLs });
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  hdr(): c.HeaderFields {
    return {
      cluster_id: this.o.clusterId.toString(),
      member_id: String(this.node.id),
      raft_term: this.node.term(),
    };
  }

  private header(revision = this.sm.mvcc.revision): g.ResponseHeader {
    return { ...this.hdr(), revision };
  }

  /** Proposes a request and returns the result of applying it (or throws etcd's error). */
  async propose(r: StoreRequest): Promise<unknown> {
    const data = encodeRequest(r);
    if (data.length > (this.o.maxRequestBytes ?? 1.5 * 1024 * 1024)) throw new EtcdError("RequestTooLarge");
    let res: StoreResult;
    try {
      res = (await this.node.propose(data)) as StoreResult;
    } catch (e) {
      throw toEtcdError(e);
    }
    if ("err" in res) {
      // A request over quota at apply raises the alarm, as etcd's applyEntryNormal does.
      if (res.code === "NoSpace" && !hasNoSpaceAlarm(this.sm)) await this.raiseNoSpace();
      throw new EtcdError(mvccToEtcd[res.code] ?? "Timeout");
    }
    return res.ok;
  }

  private async linearize(serializable: boolean): Promise<void> {
    if (serializable || this.o.unsafeStaleReads === true) return;
    try {
      await this.node.readIndex();
    } catch (e) {
      throw toEtcdError(e);
    }
  }

  /**
   * etcd's quotaKVServer: a Put, Txn or LeaseGrant that does not fit in the quota raises the
   * NOSPACE alarm and fails before it is proposed. Under the alarm, requests that fit still go on
   * to the apply-time check (quota.ts), which refuses what adds data.
   */
  private async checkQuota(r: StoreRequest): Promise<void> {
    const cost = quotaCost(r) ?? 0;
    if (quotaAvailable(this.sm, this.quotaBytes(), cost)) return;
    await this.raiseNoSpace();
    throw new EtcdError("NoSpace");
  }

  private async raiseNoSpace(): Promise<void> {
    await this.propose({
      op: "alarm",
      action: "activate",
      memberId: String(this.node.id),
      alarm: AlarmType.NOSPACE,
    }).catch(() => undefined);
  }

  private validate(f: () => void): void {
    try {
      f();
    } catch (e) {
      throw toEtcdError(e);
    }
  }

  backend(): EtcdBackend {
    const h = () => this.hdr();
    return {
      ...notImplementedBackend(),
      range: async (req) => {
        const r = c.rangeIn(req);
        this.validate(() => checkRangeRequest(r));
        await this.linearize(req.serializable);
        try {
          return c.rangeOut(h(), this.sm.mvcc.range(r));
        } catch (e) {
          throw toEtcdError(e);
        }
      },
      put: async (req) => {
        const r = c.putIn(req);
        this.validate(() => checkPutRequest(r));
        const put: StoreRequest = { op: "put", req: r };
        await this.checkQuota(put);
        return c.putOut(h(), (await this.propose(put)) as m.PutResponse);
      },
      deleteRange: async (req) => {
        const r = c.deleteIn(req);
        this.validate(() => checkDeleteRequest(r));
        return c.deleteOut(h(), (await this.propose({ op: "deleteRange", req: r })) as m.DeleteRangeResponse);
      },
      txn: async (req) => {
        const r = c.txnIn(req);
        // Checked here, before Raft, as etcd's gRPC layer does (v3rpc/key.go checkTxnRequest).
        this.validate(() => checkTxnRequest(r, this.o.maxTxnOps));
        const txn: StoreRequest = { op: "txn", req: r };
        await this.checkQuota(txn);
        if (isTxnReadOnly(r)) {
          // etcd's v3_server.go Txn: a txn that writes nothing is a read, served from this member's
          // state after a ReadIndex (none when every range is serializable), without a log entry.
          await this.linearize(isTxnSerializable(r));
          try {
            return c.txnOut(h(), this.sm.mvcc.txn(r));
          } catch (e) {
            throw toEtcdError(e);
          }
        }
        return c.txnOut(h(), (await this.propose(txn)) as m.TxnResponse);
      },
      compact: async (req) => {
        await this.propose({ op: "compact", revision: Number(req.revision) });
        return { header: this.header() };
      },
      watch: (call) => this.watch.serve(call),
      leaseGrant: async (req) => this.leaseGrant(req),
      leaseRevoke: async (req) => {
        await this.propose({ op: "leaseRevoke", id: BigInt(req.ID) });
        return { header: this.header() };
      },
      leaseKeepAlive: (call) => this.leaseKeepAlive(call),
      leaseTimeToLive: async (req) => this.leaseTimeToLive(req),
      leaseLeases: async () => ({
        header: this.header(),
        leases: [...this.sm.leases.keys()].map((id) => ({ ID: id.toString() })),
      }),
      memberList: async () => {
        await this.linearize(false);
        return { header: this.header(), members: this.members() };
      },
      memberAdd: async (req) => this.memberAdd(req),
      memberRemove: async (req) => {
        const id = Number(req.ID);
        if (!this.isMember(id)) throw new EtcdError("MemberNotFound");
        await this.confChange(ConfChangeType.RemoveNode, id, "");
        return { header: this.header(), members: this.members() };
      },
      memberPromote: async (req) => {
        // etcd's PromoteMember: only the leader knows whether the learner caught up; others forward.
        if (!this.node.isLeader())
          return unaryCall<g.MembersResponse>(this.leaderClients().Cluster, "MemberPromote", req).catch(
            (e: { details?: string }) => {
              const code = etcdErrorCodeOf(e.details ?? "");
              throw code === undefined ? e : new EtcdError(code);
            },
          );
        const id = Number(req.ID);
        const ready = isLearnerReady(this.node, id);
        if (ready !== undefined) throw new EtcdError(ready);
        if (!this.isMember(id)) throw new EtcdError("MemberNotFound");
        if (!this.node.members().learners.includes(id)) throw new EtcdError("MemberNotLearner");
        await this.confChange(ConfChangeType.AddNode, id, this.node.peerAddresses().get(id) ?? "");
        return { header: this.header(), members: this.members() };
      },
      status: async () => ({
        header: this.header(),
        version: storeVersion,
        dbSize: this.sm.mvcc.sizeBytes,
        dbSizeInUse: this.sm.mvcc.sizeBytes,
        leader: String(this.node.leader()),
        raftIndex: this.node.commitIndex(),
        raftTerm: this.node.term(),
        raftAppliedIndex: this.node.appliedIndex(),
        errors: [...this.sm.alarms.values()].map(
          (a) => `memberID:${a.memberId} alarm:${a.alarm === AlarmType.NOSPACE ? "NOSPACE" : "CORRUPT"} `,
        ),
        isLearner: this.node.members().learners.includes(this.node.id),
      }),
      alarm: async (req) => {
        const list = (alarms: { memberId: string; alarm: number }[]) =>
          alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm }));
        if (req.action === AlarmAction.DEACTIVATE) {
          // etcd answers a deactivation with the alarms it deactivated.
          const targets = [...this.sm.alarms.values()].filter(
            (a) =>
              (req.memberID === "0" || a.memberId === req.memberID) &&
              (req.alarm === AlarmType.NONE || a.alarm === req.alarm),
          );
          for (const a of targets)
            await this.propose({ op: "alarm", action: "deactivate", memberId: a.memberId, alarm: a.alarm });
          return { header: this.header(), alarms: list(targets) };
        }
        if (req.action === AlarmAction.ACTIVATE) {
          await this.propose({ op: "alarm", action: "activate", memberId: req.memberID, alarm: req.alarm });
          return { header: this.header(), alarms: list([{ memberId: req.memberID, alarm: req.alarm }]) };
        }
        return { header: this.header(), alarms: list([...this.sm.alarms.values()]) };
      },
      snapshot: (call) => {
        // A consistent image: on disk, read from a LevelDB snapshot of what is applied now.
        this.sm.fullSnapshot().then(
          ({ data }) => {
            const file = encodeSnapshotFile(data);
            const chunk = 32 * 1024;
            for (let at = 0; at < file.length; at += chunk) {
              const blob = Buffer.from(file.subarray(at, Math.min(file.length, at + chunk)));
              call.write({ header: this.header(), remaining_bytes: file.length - at - blob.length, blob });
            }
            call.end();
          },
          (e: unknown) => call.emit("error", e),
        );
      },
      hash: async () => ({ header: this.header(), hash: storeHash(this.sm) }),
      hashKV: async (req) => {
        try {
          const r = hashKV(this.sm.mvcc, Number(req.revision ?? 0));
          return { header: this.header(r.revision), hash: r.hash, compact_revision: r.compactRevision };
        } catch (e) {
          throw toEtcdError(e);
        }
      },
      // LevelDB compacts its own files: there is nothing to defragment; answer as etcd does.
      defragment: async () => ({ header: this.header() }),
      moveLeader: async (req) => {
        const ok = await this.node.transferLeadership(Number(req.targetID));
        if (!ok) throw new EtcdError("BadLeaderTransferee");
        return { header: this.header() };
      },
    };
  }

  private async leaseGrant(req: g.LeaseGrantRequest): Promise<g.LeaseGrantResponse> {
    let ttl = Number(req.TTL);
    if (ttl > maxLeaseTTL) throw new EtcdError("LeaseTTLTooLarge");
    if (ttl < this.o.minLeaseTTL) ttl = this.o.minLeaseTTL;
    await this.checkQuota({ op: "leaseGrant", id: 0n, ttl });
    let id = BigInt(req.ID);
    if (id === 0n) {
      // etcd's idutil: member bits on top, then time and a counter; positive int64.
      const member = BigInt(this.node.id) & 0x7fffn;
      const low = ((BigInt(Math.floor(Date.now())) << 8n) + this.leaseSeq++) & ((1n << 48n) - 1n);
      id = (member << 48n) | low;
    }
    await this.propose({ op: "leaseGrant", id, ttl });
    return { header: this.header(), ID: id.toString(), TTL: ttl, error: "" };
  }

  private leaderClients(): EtcdClients {
    const leader = this.node.leader();
    if (leader === 0) throw new EtcdError("NoLeader");
    if (this.forward?.leader === leader) return this.forward.clients;
    const url = this.sm.attributes.get(String(leader))?.clientURLs[0];
    if (url === undefined) throw new EtcdError("NoLeader");
    if (this.forward !== undefined) {
      this.forward.keepAlive.close();
      closeEtcdClients(this.forward.clients);
    }
    const clients = etcdClients(new URL(url).host);
    this.forward = { leader, clients, keepAlive: new KeepAliveForwarder(clients) };
    return this.forward.clients;
  }

  private leaderForwarder(): KeepAliveForwarder {
    this.leaderClients();
    return (this.forward as { keepAlive: KeepAliveForwarder }).keepAlive;
  }

  private async leaseTimeToLive(req: g.LeaseTimeToLiveRequest): Promise<g.LeaseTimeToLiveResponse> {
    const id = BigInt(req.ID);
    if (!this.node.isLeader()) {
      // Only the leader knows when leases expire (etcd forwards to the leader too).
      return unaryCall<g.LeaseTimeToLiveResponse>(this.leaderClients().Lease, "LeaseTimeToLive", req);
    }
    const remaining = this.lessor.remaining(id);
    if (remaining < 0) return { header: this.header(), ID: req.ID, TTL: -1, grantedTTL: 0, keys: [] };
    const keys = req.keys ? this.sm.mvcc.keysWithLease(id).map((k) => Buffer.from(k)) : [];
    return {
      header: this.header(),
      ID: req.ID,
      TTL: remaining,
      grantedTTL: this.sm.leases.get(id)?.ttl ?? 0,
      keys,
    };
  }

  private leaseKeepAlive(call: Parameters<EtcdBackend["leaseKeepAlive"]>[0]): void {
    call.on("data", (req: g.LeaseIdRequest) => {
      this.keepAliveOnce(req)
        .then((resp) => call.write(resp))
        .catch((e) => failStream(call, e));
    });
    call.on("end", () => call.end());
  }

  private async keepAliveOnce(req: g.LeaseIdRequest): Promise<g.LeaseKeepAliveResponse> {
    // The header is taken before renewing, as etcd's leaseKeepAlive does, so that no client sees
    // a keep-alive succeed at a revision after the lease's revoke.
    const header = this.header();
    if (this.node.isLeader()) {
      try {
        return { header, ID: req.ID, TTL: await this.lessor.renew(BigInt(req.ID)) };
      } catch (e) {
        if (!(e instanceof NotPrimaryError)) throw e;
        // Leadership moved while the renewal waited: ask the new leader (etcd's LeaseRenew).
      }
    }
    const resp = await this.leaderForwarder().send(req.ID);
    return { ...resp, header };
  }

  private isMember(id: number): boolean {
    const cs = this.node.members();
    return cs.voters.includes(id) || cs.learners.includes(id);
  }

  members(): g.Member[] {
    const cs = this.node.members();
    const peers = this.node.peerAddresses();
    return [...cs.voters, ...cs.learners].map((id) => {
      const a = this.sm.attributes.get(String(id));
      return {
        ID: String(id),
        name: a?.name ?? "",
        peerURLs: peers.has(id) ? [peers.get(id) as string] : [],
        clientURLs: a?.clientURLs ?? [],
        isLearner: cs.learners.includes(id),
      };
    });
  }

  private async memberAdd(req: g.MemberAddRequest): Promise<g.MemberAddResponse> {
    const url = req.peerURLs[0];
    if (url === undefined || req.peerURLs.some((u) => !/^https?:\/\/[^/]+:\d+\/?$/.test(u)))
      throw new EtcdError("MemberBadURLs");
    for (const existing of this.node.peerAddresses().values())
      if (req.peerURLs.includes(existing)) throw new EtcdError("PeerURLExist");
    const id = memberIdFromPeerUrls(req.peerURLs, this.o.clusterToken);
    // etcd's ValidateConfigurationChange: a removed id never comes back (ErrIDRemoved, which the
    // gRPC API answers as "member not found").
    if (this.node.removedMembers().has(id)) throw new EtcdError("MemberNotFound");
    if (this.isMember(id)) throw new EtcdError("MemberExist");
    await this.confChange(req.isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id, url);
    const member = {
      ID: String(id),
      name: "",
      peerURLs: req.peerURLs,
      clientURLs: [],
      isLearner: req.isLearner,
    };
    return { header: this.header(), member, members: this.members() };
  }

  private async confChange(type: ConfChangeType, id: number, peerURL: string): Promise<void> {
    try {
      await this.node.proposeConfChange({ type, nodeId: id, context: new TextEncoder().encode(peerURL) });
    } catch (e) {
      throw toEtcdError(e);
    }
  }
}
