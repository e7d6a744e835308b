/**
 * createEtcdServer end to end with the reference client: a tiny in-memory EtcdBackend (a Map,
 * no Raft) is served on loopback and the real etcdctl 3.4 talks to it. This proves the server
 * side of the contract: method paths, encoding of responses, and etcd's error messages.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import type { KeyValue, Member, RangeRequest, ResponseHeader } from "@skiff/etcd-client";
import t from "tap";
import { type EtcdBackend, notImplementedBackend } from "../src/grpc/backend.js";
import { EtcdError, etcdErrorCatalog, etcdErrorCodeOf, toGrpcStatus } from "../src/grpc/errors.js";
import { createEtcdServer } from "../src/grpc/server.js";

const etcdctlBin = "/usr/bin/etcdctl";
// A member id above 2^63 on purpose: it only survives if uint64s stay exact end to end.
const memberId = "18364758544493064720";
const clusterId = "1311141121314151617";

interface Stored {
  value: Buffer;
  create: number;
  mod: number;
  version: number;
}

/** Enough of etcd's KV semantics for etcdctl put/get/del/compaction; not an MVCC store. */
function fakeBackend(): EtcdBackend {
  const data = new Map<string, Stored>();
  let revision = 1;
  let compactRevision = 0;
  const header = (): ResponseHeader => ({
    cluster_id: clusterId,
    member_id: memberId,
    revision,
    raft_term: 2,
  });
  const toKv = (key: string, s: Stored): KeyValue => ({
    key: Buffer.from(key, "latin1"),
    value: s.value,
    create_revision: s.create,
    mod_revision: s.mod,
    version: s.version,
  });
  // range_end semantics from rpc.proto: empty = one key, "\0" = every key >= key, else [key, end).
  const inRange = (req: { key: Buffer; range_end: Buffer }) => (k: string) => {
    const key = req.key.toString("latin1");
    if (req.range_end.length === 0) return k === key;
    if (req.range_end.equals(Buffer.from([0]))) return k >= key;
    return k >= key && k < req.range_end.toString("latin1");
  };
  const self: Member = {
    ID: memberId,
    name: "fake",
    peerURLs: ["http://127.0.0.1:2380"],
    clientURLs: ["http://127.0.0.1:2379"],
  };
  return {
    ...notImplementedBackend(),
    async range(req: RangeRequest) {
      const rev = Number(req.revision);
      if (rev > 0 && rev < compactRevision) throw new EtcdError("Compacted");
      if (rev > revision) throw new EtcdError("FutureRev");
      const match = inRange(req);
      const kvs = [...data.entries()]
        .filter(([k]) => match(k))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, s]) => toKv(k, s));
      return { header: header(), kvs, count: kvs.length };
    },
    async put(req) {
      if (req.key.length === 0) throw new EtcdError("EmptyKey");
      const key = req.key.toString("latin1");
      const prev = data.get(key);
      revision++;
      data.set(key, {
        value: req.value,
        create: prev?.create ?? revision,
        mod: revision,
        version: (prev?.version ?? 0) + 1,
      });
      return { header: header(), prev_kv: req.prev_kv && prev ? toKv(key, prev) : null };
    },
    async deleteRange(req) {
      const keys = [...data.keys()].filter(inRange(req));
      if (keys.length > 0) revision++;
      for (const k of keys) data.delete(k);
      return { header: header(), deleted: keys.length };
    },
    async compact(req) {
      const rev = Number(req.revision);
      if (rev <= compactRevision) throw new EtcdError("Compacted");
      if (rev > revision) throw new EtcdError("FutureRev");
      compactRevision = rev;
      return { header: header() };
    },
    async status() {
      return {
        header: header(),
        version: "3.4.23",
        dbSize: 4096,
        leader: memberId,
        raftIndex: revision + 10,
        raftTerm: 2,
        raftAppliedIndex: revision + 10,
        dbSizeInUse: 4096,
      };
    },
    async memberList() {
      return { header: header(), members: [self] };
    },
  };
}

function etcdctl(endpoint: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      etcdctlBin,
      // Deadlines only for a hung server, far above a loaded machine's answer time.
      [`--endpoints=${endpoint}`, "--command-timeout=30s", "--dial-timeout=15s", ...args],
      { env: { ...process.env, ETCDCTL_API: "3" }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, out: stdout.toString(), err: stderr.toString() });
      },
    );
  });
}

t.test("error catalog", async (t) => {
  const s = toGrpcStatus(new EtcdError("NoLeader"));
  t.equal(s.code, 14, "UNAVAILABLE");
  t.equal(s.details, "etcdserver: no leader");
  t.equal(toGrpcStatus(new EtcdError("RequestTooLarge")).code, 3, "INVALID_ARGUMENT");
  t.equal(toGrpcStatus(new EtcdError("NoSpace")).code, 8, "RESOURCE_EXHAUSTED");
  t.equal(toGrpcStatus(new EtcdError("LeaseNotFound")).code, 5, "NOT_FOUND");
  t.equal(toGrpcStatus(new Error("boom")).code, 2, "anything else is UNKNOWN");
  t.equal(etcdErrorCodeOf("etcdserver: request timed out"), "Timeout");
  const messages = Object.values(etcdErrorCatalog).map((e) => e.message);
  t.equal(new Set(messages).size, messages.length, "messages are unique, so lookups by message are exact");
});

if (!existsSync(etcdctlBin)) {
  t.test(
    "etcdctl 3.4 against createEtcdServer with a fake backend",
    { skip: `etcdctl not installed at ${etcdctlBin}: etcdctl against createEtcdServer not checked` },
    async () => {},
  );
} else {
  t.test("etcdctl 3.4 against createEtcdServer with a fake backend", async (t) => {
    const server = createEtcdServer(fakeBackend());
    const port = await server.listen("127.0.0.1", 0);
    t.teardown(() => server.forceShutdown());
    const ep = `http://127.0.0.1:${port}`;

    const put = await etcdctl(ep, "put", "/skiff/a", "alpha");
    t.equal(put.out.trim(), "OK", `put: ${put.err}`);
    await etcdctl(ep, "put", "/skiff/b", "beta");
    const get = await etcdctl(ep, "get", "/skiff/a");
    t.equal(get.out, "/skiff/a\nalpha\n", `get: ${get.err}`);
    const prefix = await etcdctl(ep, "get", "--prefix", "/skiff/");
    t.equal(prefix.out, "/skiff/a\nalpha\n/skiff/b\nbeta\n", "get --prefix");
    const json = await etcdctl(ep, "get", "/skiff/b", "-w", "json");
    t.match(json.out, /"mod_revision":3/, "get -w json carries the revision");
    t.match(json.out, new RegExp(`"member_id":${memberId}`), "header.member_id exact");

    const del = await etcdctl(ep, "del", "/skiff/a");
    t.equal(del.out.trim(), "1", `del: ${del.err}`);
    t.equal((await etcdctl(ep, "get", "/skiff/a")).out, "", "deleted key is gone");

    const ml = await etcdctl(ep, "member", "list");
    t.equal(
      ml.out.trim(),
      `${BigInt(memberId).toString(16)}, started, fake, http://127.0.0.1:2380, http://127.0.0.1:2379, false`,
      `member list: ${ml.err}`,
    );

    // clientv3 3.4 dials single-endpoint RPCs (endpoint status, hashkv, snapshot, defrag,
    // move-leader) as passthrough:///http://host:port, so grpc-go sends the whole URL as
    // :authority. node:http2 (nghttp2) refused the "/" in it with RST_STREAM PROTOCOL_ERROR;
    // Skiff's own HTTP/2 takes it, as Go's does.
    const withScheme = await etcdctl(ep, "endpoint", "status");
    t.equal(withScheme.code, 0, `endpoint status with an http:// endpoint: ${withScheme.err}`);
    t.match(withScheme.out, /3\.4\.23/);
    const st = await etcdctl(`127.0.0.1:${port}`, "endpoint", "status", "-w", "json");
    t.equal(st.code, 0, `endpoint status: ${st.err}`);
    t.match(st.out, /"version":"3.4.23"/);
    t.match(st.out, new RegExp(`"leader":${memberId}`), "StatusResponse.leader exact");
    t.match(st.out, new RegExp(`"cluster_id":${clusterId}`));

    // Error mapping: after compaction at revision 4, reading revision 2 must fail with etcd's text.
    const compact = await etcdctl(ep, "compaction", "4");
    t.match(compact.out, /compacted revision 4/, `compaction: ${compact.err}`);
    const old = await etcdctl(ep, "get", "--rev=2", "/skiff/b");
    t.not(old.code, 0, "reading a compacted revision fails");
    t.match(old.err, etcdErrorCatalog.Compacted.message);
    const future = await etcdctl(ep, "get", "--rev=99", "/skiff/b");
    t.match(future.err, etcdErrorCatalog.FutureRev.message);

    // An RPC the fake does not serve answers UNIMPLEMENTED instead of hanging.
    const lease = await etcdctl(ep, "lease", "grant", "10");
    t.not(lease.code, 0);
    t.match(lease.err, /not implemented|Unimplemented/);
  });
}
