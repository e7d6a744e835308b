/**
 * NftSession (the long-lived `nft -i` of partial syncs) and the Proxier's use of it, against the
 * real nft inside network namespaces the test creates (skiff-pt-<random>) and removes in
 * teardown. Needs root, nft and ip; skips off CI when a part is missing.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { FakeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import {
  buildRuleset,
  type ProxyRulesInput,
  type Ruleset,
  renderFullSync,
  renderPartialSync,
} from "../src/index.js";
import { Nft, type NftInterface } from "../src/proxier/nft.js";
import { NftSession, NftSessionError, oneLine } from "../src/proxier/nft-session.js";
import { nftablesRules, Proxier } from "../src/proxier/proxier.js";
import { netns, netnsSkipReason } from "./netns-fixtures.js";
import { FakeConntrack } from "./proxier-fixtures.js";
import { ep, input, OPTIONS, service, slice } from "./rules-fixtures.js";

const skip = netnsSkipReason();

function list(ns: string, table = OPTIONS.table): string {
  return execFileSync("ip", ["netns", "exec", ns, "nft", "list", "table", "ip", table], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function session(t: Test, ns: string, timeoutMs?: number): NftSession {
  const s = new NftSession({ netns: ns, logger: silentLogger, ...(timeoutMs ? { timeoutMs } : {}) });
  t.teardown(() => s.close());
  return s;
}

const HTTP = [{ name: "http", port: 80, protocol: "TCP" as const }];
const SLICE_HTTP = [{ name: "http", port: 8080, protocol: "TCP" as const }];
const web = (...ips: string[]) =>
  slice(
    "web-1",
    "web",
    ips.map((ip) => ep(ip)),
    SLICE_HTTP,
  );

/** A full sync then partial ones: the texts a Proxier would load. */
function texts(): string[] {
  const steps: ProxyRulesInput[] = [
    input([service("web", "10.96.0.20", HTTP)], [web("10.244.0.5")]),
    input([service("web", "10.96.0.20", HTTP)], [web("10.244.0.5", "10.244.0.6")]),
    input(
      [
        service("web", "10.96.0.20", HTTP),
        service("api", "10.96.0.21", HTTP, { sessionAffinity: "ClientIP" }),
      ],
      [web("10.244.0.6")],
    ),
    input([service("api", "10.96.0.21", HTTP)], []),
  ];
  const out: string[] = [];
  let prev: Ruleset | undefined;
  for (const step of steps) {
    const next = buildRuleset(step);
    const text = prev === undefined ? renderFullSync(next) : renderPartialSync(prev, next);
    if (text !== undefined) out.push(text);
    prev = next;
  }
  return out;
}

t.test("oneLine joins commands and refuses what joining could change", async (t) => {
  t.equal(
    oneLine("add chain ip t a\n\nadd rule ip t a counter\n"),
    "add chain ip t a; add rule ip t a counter",
  );
  t.equal(oneLine('add rule ip t a counter comment "x; y"\n'), undefined, "a quoted string");
  t.equal(oneLine("add rule ip t a counter # why\n"), undefined, "a comment");
  t.equal(oneLine("\n"), undefined, "nothing to apply");
});

t.test("a session applies transactions as nft -f does, in one process", { skip }, async (t) => {
  const a = netns(t);
  const b = netns(t);
  const s = session(t, a);
  const nft = new Nft({ netns: b, logger: silentLogger });
  const all = texts();
  t.ok(all.length >= 4, "a full text and partial ones");
  const pids = new Set<number | undefined>();
  for (const text of all) {
    await s.apply(text);
    pids.add(s.pid);
    await nft.load(text);
    t.equal(list(a), list(b), `same table after ${text.split("\n").length - 1} commands`);
  }
  t.equal(pids.size, 1, "every transaction went to the same nft process");
  t.ok([...pids][0] !== undefined);
});

t.test(
  "a refused transaction applies nothing and the next one runs in a fresh session",
  { skip },
  async (t) => {
    const ns = netns(t);
    const s = session(t, ns);
    const [full] = texts();
    await s.apply(full as string);
    const before = list(ns);
    const first = s.pid as number;
    const t0 = OPTIONS.table;
    const err = await s
      .apply(
        `add chain ip ${t0} extra\nadd rule ip ${t0} extra counter\nadd rule ip ${t0} no-such-chain counter\n`,
      )
      .catch((e: unknown) => e);
    t.type(err, NftSessionError);
    t.match((err as NftSessionError).output, /No such file or directory/, "nft's own message");
    t.match((err as Error).message, /no-such-chain/, "naming the command it refused");
    t.equal(list(ns), before, "nothing of the line was applied");
    t.equal(s.pid, undefined, "the session was ended");
    await waitFor(() => !alive(first), { what: "the refused session's process to exit" });
    await s.apply(`add chain ip ${t0} extra\nadd rule ip ${t0} extra counter\n`);
    t.match(list(ns), /chain extra \{\n\t\tcounter/, "the next transaction is applied");
    t.not(s.pid, first, "by a new process");
  },
);

t.test("a killed session restarts on the next apply; close() ends it", { skip }, async (t) => {
  const ns = netns(t);
  const s = session(t, ns);
  const t0 = OPTIONS.table;
  await s.apply(`add table ip ${t0}\nadd chain ip ${t0} a\n`);
  const first = s.pid as number;
  process.kill(first, "SIGKILL");
  await waitFor(() => s.pid === undefined, { what: "the session to notice its process died" });
  await s.apply(`add chain ip ${t0} b\n`);
  const second = s.pid as number;
  t.ok(second !== undefined && second !== first, "a new process");
  t.match(list(ns), /chain b/);
  // Several at once are applied one after another, in order.
  await Promise.all(["c", "d", "e"].map((c) => s.apply(`add chain ip ${t0} ${c}\n`)));
  t.match(list(ns), /chain c[\s\S]*chain d[\s\S]*chain e/);
  await s.close();
  t.equal(s.pid, undefined);
  t.notOk(alive(second), "close() left no process");
  await s.close();
  t.pass("close() twice is fine");
});

t.test("a session that does not answer is killed at its deadline", { skip }, async (t) => {
  // A stand-in "nft" that reads nothing and never answers.
  const s = new NftSession({ logger: silentLogger, nftPath: "sleep 60; :", timeoutMs: 200 });
  t.teardown(() => s.close());
  const err = await s.apply("add table ip x\n").catch((e: unknown) => e);
  t.match((err as Error).message, /no answer in 200 ms/);
  t.equal(s.pid, undefined, "its process was ended");
});

t.test("the Proxier's partial syncs go through the session; stop closes it", { skip }, async (t) => {
  const ns = netns(t);
  const name = `skiff-pt-${randomBytes(3).toString("hex")}`;
  const client = new FakeClient({
    objects: [service("web", "10.96.0.20", HTTP), web("10.244.0.5")],
  });
  const real = new Nft({ netns: ns, logger: silentLogger });
  const calls: string[] = [];
  const nft: NftInterface & { failNextPartial?: boolean } = {
    load: (text) => {
      calls.push("load");
      return real.load(text);
    },
    loadPartial: (text) => {
      calls.push("partial");
      if (nft.failNextPartial) {
        nft.failNextPartial = false;
        return Promise.reject(new NftSessionError("nft refused the transaction", "Error: injected"));
      }
      return real.loadPartial(text);
    },
    close: () => real.close(),
    deleteTable: (f, n) => real.deleteTable(f, n),
  };
  const synced: boolean[] = [];
  const proxier = new Proxier({
    client,
    nodeName: "node-a",
    netns: ns,
    table: name,
    rules: nftablesRules(),
    nft,
    conntrack: new FakeConntrack(),
    config: { minSyncPeriodMs: 0, syncPeriodMs: 200 },
    onSynced: (i) => synced.push(i.full),
  });
  t.teardown(() => proxier.stop());
  await proxier.start();
  await proxier.ready;
  const slices = client.resource("discovery.k8s.io/v1", "endpointslices", "default");
  await slices.create(slice("web-2", "web", [ep("10.244.0.6")], SLICE_HTTP));
  await waitFor(() => synced.length >= 2, { what: "the partial sync" });
  t.same(synced.slice(0, 2), [true, false]);
  t.match(list(ns, name), /10\.244\.0\.6/);
  t.same(calls.slice(0, 2), ["load", "partial"], "full by nft -f, partial by the session");
  t.ok(real.sessionPid !== undefined, "the session runs");
  nft.failNextPartial = true;
  const n = synced.length;
  const k = calls.length;
  await slices.create(slice("web-3", "web", [ep("10.244.0.7")], SLICE_HTTP));
  await waitFor(() => synced.length > n, { what: "the retry after the failure" });
  t.equal(synced[n], true, "the sync after a failed partial one is full");
  t.match(list(ns, name), /10\.244\.0\.7/);
  t.same(calls.slice(k, k + 2), ["partial", "load"], "the failed partial, then nft -f");
  const pid = real.sessionPid;
  await proxier.stop();
  t.equal(real.sessionPid, undefined, "stop closed the session");
  if (pid !== undefined) t.notOk(alive(pid), "its process is gone");
});
