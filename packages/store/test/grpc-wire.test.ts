/**
 * Proves Skiff's etcd .proto files against the reference: a real etcd 3.4 is started on loopback
 * and every call below is encoded and decoded with clients built from @skiff/etcd-client's protos.
 * If a field number were wrong, a value would decode as zero/empty or under another field.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import {
  closeEtcdClients,
  type EtcdClients,
  etcdClients,
  type Member,
  unaryCall,
  type WatchResponse,
} from "@skiff/etcd-client";
import { freePort, waitFor as waitUntil } from "@skiff/testkit";
import t from "tap";
import { etcdErrorCatalog } from "../src/grpc/errors.js";

const etcdBin = "/usr/bin/etcd";
const etcdctlBin = "/usr/bin/etcdctl";

/** Retries fn until it resolves; the last error says what was missing. */
async function waitFor<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  return (await waitUntil(async () => ({ value: await fn() }), { what, timeoutMs, intervalMs: 100 })).value;
}

const b = (s: string) => Buffer.from(s);
/** etcd's "prefix" range_end: the key with its last byte incremented. */
const prefixEnd = (p: string) => {
  const e = Buffer.from(p);
  e[e.length - 1] = (e[e.length - 1] ?? 0) + 1;
  return e;
};

if (!existsSync(etcdBin) || !existsSync(etcdctlBin)) {
  t.test(
    "Skiff's protos against real etcd 3.4",
    { skip: `etcd 3.4 not installed (${etcdBin}, ${etcdctlBin}): wire contract against etcd not checked` },
    async () => {},
  );
} else {
  t.test("Skiff's protos against real etcd 3.4", async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "skiff-grpc-wire-"));
    const clientPort = await freePort();
    const peerPort = await freePort();
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd: ChildProcess = spawn(
      etcdBin,
      [
        "--name=wire",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=wire=${peerUrl}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let etcdLog = "";
    etcd.stderr?.on("data", (d: Buffer) => {
      etcdLog = (etcdLog + d.toString()).slice(-4000);
    });
    const c: EtcdClients = etcdClients(`127.0.0.1:${clientPort}`);
    const exited = new Promise<void>((resolve) => etcd.once("exit", () => resolve()));
    t.teardown(async () => {
      closeEtcdClients(c);
      if (etcd.pid !== undefined && etcd.exitCode === null && etcd.signalCode === null) {
        process.kill(etcd.pid, "SIGKILL");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    });
    t.comment(`etcd ${clientUrl} data ${dataDir}`);

    // biome-ignore lint/suspicious/noExplicitAny: decoded responses are checked field by field below.
    type Any = Record<string, any>;
    const call = (svc: keyof EtcdClients, m: string, req: object) => unaryCall<Any>(c[svc], m, req, 30_000);
    const status = await waitFor("etcd Status", () => call("Maintenance", "Status", {}), 60_000).catch(
      (e) => {
        t.comment(etcdLog);
        throw e;
      },
    );

    // Status + header: the member is its own leader; ids are uint64 as exact decimal strings.
    t.equal(status.version, "3.4.23", "StatusResponse.version (field 2)");
    t.equal(status.leader, status.header.member_id, "leader (4) == header.member_id (ResponseHeader 2)");
    t.not(status.header.cluster_id, "0", "header.cluster_id (1)");
    t.ok(Number(status.dbSize) > 0, "dbSize (3)");
    t.ok(Number(status.raftTerm) >= 2, "raftTerm (6)");
    t.ok(Number(status.raftIndex) > 0, "raftIndex (5)");

    // MemberList: compare with etcdctl's own hex id and URLs.
    const ml = await call("Cluster", "MemberList", {});
    const members = ml.members as Member[];
    t.equal(members.length, 1);
    const me = members[0] as Member;
    t.equal(me.name, "wire");
    t.same(me.peerURLs, [peerUrl]);
    t.same(me.clientURLs, [clientUrl]);
    t.equal(me.isLearner, false);
    const ctlLine = execFileSync(etcdctlBin, [`--endpoints=${clientUrl}`, "member", "list"], {
      env: { ...process.env, ETCDCTL_API: "3" },
    }).toString();
    t.equal(BigInt(me.ID).toString(16), ctlLine.split(",")[0]?.trim(), "Member.ID is the full uint64");
    t.equal(me.ID, status.header.member_id, "Member.ID == header.member_id");

    // Put: three keys, the revision advances by one each.
    const r1 = await call("KV", "Put", { key: b("/w/a"), value: b("1") });
    const rev1 = Number(r1.header.revision);
    await call("KV", "Put", { key: b("/w/b"), value: b("2") });
    const r3 = await call("KV", "Put", { key: b("/w/c"), value: b("3"), prev_kv: true });
    t.equal(Number(r3.header.revision), rev1 + 2, "PutResponse.header.revision");
    t.equal(r3.prev_kv, null, "no prev_kv for a new key");
    const r4 = await call("KV", "Put", { key: b("/w/a"), value: b("1b"), prev_kv: true });
    t.equal(r4.prev_kv.value.toString(), "1", "PutResponse.prev_kv (2)");
    const rev4 = Number(r4.header.revision);

    // Range with sort/limit/keys_only: DESCEND by key, limit 2 -> c, b; more and count.
    const rg = await call("KV", "Range", {
      key: b("/w/"),
      range_end: prefixEnd("/w/"),
      limit: 2,
      sort_order: 2,
      sort_target: 0,
      keys_only: true,
    });
    t.same(
      rg.kvs.map((kv: Any) => kv.key.toString()),
      ["/w/c", "/w/b"],
      "kvs sorted DESCEND by KEY, limited",
    );
    t.equal(rg.kvs[0].value.length, 0, "keys_only leaves value empty");
    t.equal(rg.more, true, "RangeResponse.more (3)");
    t.equal(rg.count, "3", "RangeResponse.count (4)");
    const one = await call("KV", "Range", { key: b("/w/a") });
    const kvA = one.kvs[0];
    t.equal(kvA.value.toString(), "1b");
    t.equal(Number(kvA.create_revision), rev1, "KeyValue.create_revision (2)");
    t.equal(Number(kvA.mod_revision), rev4, "KeyValue.mod_revision (3)");
    t.equal(kvA.version, "2", "KeyValue.version (4)");

    // Txn: compare VALUE == "1b" succeeds, then the same compare with a wrong value fails.
    const txnOk = await call("KV", "Txn", {
      compare: [{ key: b("/w/a"), target: 3, result: 0, value: b("1b") }],
      success: [{ request_put: { key: b("/w/t"), value: b("yes") } }, { request_range: { key: b("/w/t") } }],
      failure: [{ request_put: { key: b("/w/t"), value: b("no") } }],
    });
    t.equal(txnOk.succeeded, true, "TxnResponse.succeeded (2)");
    t.equal(txnOk.responses.length, 2);
    t.ok(txnOk.responses[0].response_put, "ResponseOp.response_put (2)");
    t.equal(txnOk.responses[1].response_range.kvs[0].value.toString(), "yes", "range inside txn sees put");
    const txnNo = await call("KV", "Txn", {
      compare: [{ key: b("/w/a"), target: 2, result: 0, mod_revision: 1 }],
      success: [{ request_put: { key: b("/w/t"), value: b("never") } }],
      failure: [{ request_delete_range: { key: b("/w/t"), prev_kv: true } }],
    });
    t.equal(txnNo.succeeded, false);
    t.equal(txnNo.responses[0].response_delete_range.deleted, "1");
    t.equal(txnNo.responses[0].response_delete_range.prev_kvs[0].value.toString(), "yes");

    // DeleteRange over the prefix.
    const del = await call("KV", "DeleteRange", {
      key: b("/w/"),
      range_end: prefixEnd("/w/"),
      prev_kv: true,
    });
    t.equal(del.deleted, "3", "DeleteRangeResponse.deleted (2)");
    t.equal(del.prev_kvs.length, 3, "prev_kvs (3)");
    const headRev = Number(del.header.revision);

    // Compact, then a read at a compacted revision fails with etcd's exact status.
    await call("KV", "Compact", { revision: headRev, physical: true });
    const compacted = await call("KV", "Range", { key: b("/w/a"), revision: rev1 }).catch((e: Any) => e);
    t.equal(compacted.code, etcdErrorCatalog.Compacted.grpcCode, "compacted -> OUT_OF_RANGE");
    t.equal(compacted.details, etcdErrorCatalog.Compacted.message);
    const future = await call("KV", "Range", { key: b("/w/a"), revision: headRev + 100 }).catch(
      (e: Any) => e,
    );
    t.equal(future.details, etcdErrorCatalog.FutureRev.message);

    // Leases: grant, time-to-live with keys, revoke, then not found.
    const grant = await call("Lease", "LeaseGrant", { TTL: 60 });
    t.equal(grant.TTL, "60", "LeaseGrantResponse.TTL (3)");
    t.not(grant.ID, "0", "LeaseGrantResponse.ID (2)");
    await call("KV", "Put", { key: b("/w/leased"), value: b("x"), lease: grant.ID });
    const ttl = await call("Lease", "LeaseTimeToLive", { ID: grant.ID, keys: true });
    t.equal(ttl.ID, grant.ID);
    t.equal(ttl.grantedTTL, "60", "grantedTTL (4)");
    t.ok(Number(ttl.TTL) > 50 && Number(ttl.TTL) <= 60, "TTL (3)");
    t.same(
      ttl.keys.map((k: Buffer) => k.toString()),
      ["/w/leased"],
      "keys (5)",
    );
    const leases = await call("Lease", "LeaseLeases", {});
    t.same(
      leases.leases.map((l: Any) => l.ID),
      [grant.ID],
    );
    await call("Lease", "LeaseRevoke", { ID: grant.ID });
    const gone = await call("Lease", "LeaseRevoke", { ID: grant.ID }).catch((e: Any) => e);
    t.equal(gone.code, etcdErrorCatalog.LeaseNotFound.grpcCode);
    t.equal(gone.details, etcdErrorCatalog.LeaseNotFound.message);

    // Watch: create, see a PUT with its kv, then cancel.
    const stream = (c.Watch as unknown as { Watch(): ClientDuplexStream<object, WatchResponse> }).Watch();
    const got: WatchResponse[] = [];
    const waiters: (() => void)[] = [];
    stream.on("data", (m: WatchResponse) => {
      got.push(m);
      for (const w of waiters.splice(0)) w();
    });
    stream.on("error", () => {});
    const next = (pred: (m: WatchResponse) => boolean) =>
      waitFor("watch response", async () => {
        const m = got.find(pred);
        if (!m) throw new Error("not yet");
        return m;
      });
    // A client-chosen watch_id (etcd 3.4 honours it) proves WatchCreateRequest.watch_id (7).
    stream.write({ create_request: { key: b("/watched"), prev_kv: true, watch_id: 7 } });
    const created = await next((m) => m.created === true);
    t.equal(created.watch_id, "7", "WatchResponse.watch_id (2) echoes watch_id (7)");
    t.not(created.header.revision, "0");
    const putRes = await call("KV", "Put", { key: b("/watched"), value: b("v1") });
    const ev = await next((m) => (m.events?.length ?? 0) > 0);
    t.equal(ev.watch_id, created.watch_id, "WatchResponse.watch_id (2)");
    const event = ev.events?.[0];
    t.equal(event?.type, 0, "Event.type PUT");
    t.equal(event?.kv?.value?.toString(), "v1", "Event.kv (2), WatchResponse.events (11)");
    t.equal(event?.kv?.mod_revision, putRes.header.revision);
    stream.write({ cancel_request: { watch_id: created.watch_id } });
    const canceled = await next((m) => m.canceled === true);
    t.equal(canceled.watch_id, created.watch_id, "WatchResponse.canceled (4)");
    stream.end();
  });
}
