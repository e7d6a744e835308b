/**
 * Nft, Conntrack and the Proxier against the real system, inside a network namespace the test
 * creates (skiff-pt-<random>) and removes in teardown: never the host's own namespace. Needs root,
 * nft and ip (and conntrack for its test); skips off CI when a part is missing.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { FakeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { Conntrack } from "../src/proxier/conntrack.js";
import { Nft, NftError } from "../src/proxier/nft.js";
import { Proxier } from "../src/proxier/proxier.js";
import { has, netns, netnsSkipReason } from "./netns-fixtures.js";
import { endpointSlice, FakeConntrack, fakeRules, service } from "./proxier-fixtures.js";

const skip = netnsSkipReason();
const noConntrack = has("conntrack", ["--version"])
  ? undefined
  : "conntrack is missing (Debian's conntrack package)";

const table = () => `skiff-pt-${randomBytes(3).toString("hex")}`;

t.test("Nft loads, lists, checks and deletes a table inside a namespace", { skip }, async (t) => {
  const ns = netns(t);
  const name = table();
  const nft = new Nft({ netns: ns, logger: silentLogger });
  const rules = fakeRules();
  const rs = rules.build({
    nodeName: "n",
    services: [service("web", "10.96.0.20", [{ name: "http", port: 80 }])],
    endpointSlices: [],
    options: { table: name, masqueradeBit: 14 },
  });
  await nft.check(rules.renderFull(rs));
  await t.rejects(nft.listTable(name), NftError, "check applied nothing");
  await nft.load(rules.renderFull(rs));
  t.match(await nft.listTable(name), /ip daddr 10\.96\.0\.20 tcp dport 80 counter/);
  t.notOk(has("nft", ["list", "table", "ip", name]), "the host's own namespace has no such table");
  await nft.load(rules.renderFull(rs));
  t.pass("a full sync loads again over the existing table");
  const err = await nft
    .load(`table ip ${name} {\n\tchain c {\n\t\tnot a rule\n\t}\n}\n`)
    .catch((e: unknown) => e);
  t.type(err, NftError);
  t.match((err as NftError).stderr, /syntax error/, "the error carries nft's stderr");
  t.match(await nft.listTable(name), /10\.96\.0\.20/, "a failed load changed nothing");
  await nft.deleteTable("ip", name);
  await t.rejects(nft.listTable(name), NftError, "deleted");
  await nft.deleteTable("ip", name);
  t.pass("deleting a missing table is no error");
});

t.test("the Proxier programs its table in the namespace and leaves it on stop", { skip }, async (t) => {
  const ns = netns(t);
  const name = table();
  const client = new FakeClient({
    objects: [
      service("web", "10.96.0.20", [{ name: "http", port: 80 }]),
      endpointSlice("web", ["10.244.0.5"], [{ name: "http", port: 8080 }]),
    ],
  });
  const nft = new Nft({ netns: ns, logger: silentLogger });
  const synced: boolean[] = [];
  const proxier = new Proxier({
    client,
    nodeName: "node-a",
    netns: ns,
    table: name,
    rules: fakeRules(),
    conntrack: new FakeConntrack(),
    config: { minSyncPeriodMs: 0, healthzBindAddress: { host: "127.0.0.1", port: 0 } },
    onSynced: (i) => synced.push(i.full),
  });
  t.teardown(() => proxier.stop());
  await proxier.start();
  await proxier.ready;
  t.match(await nft.listTable(name), /default\/web:http 1/, "the first (full) sync is live");
  await client
    .resource("discovery.k8s.io/v1", "endpointslices", "default")
    .create(endpointSlice("web", ["10.244.0.6"], [{ name: "http", port: 8080 }], { name: "web-2" }));
  await waitFor(() => synced.length === 2, { what: "the partial sync" });
  t.same(synced, [true, false]);
  const listed = await nft.listTable(name);
  t.match(listed, /default\/web:http 2/, "the partial sync is live");
  t.notMatch(listed, /web:http 1/, "its chain was rewritten, not appended to");
  await proxier.stop();
  t.match(await nft.listTable(name), /default\/web:http 2/, "stop leaves the table");
  await proxier.cleanup();
  await t.rejects(nft.listTable(name), NftError, "cleanup removes it");
});

t.test(
  "Conntrack deletes the matching UDP entries in the namespace",
  { skip: skip ?? noConntrack },
  async (t) => {
    const ns = netns(t);
    const ct = (...args: string[]) =>
      execFileSync("ip", ["netns", "exec", ns, "conntrack", ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
    const entry = (sport: number, dstNat: string) =>
      ct(
        "-I",
        "-p",
        "udp",
        "-s",
        "10.244.0.2",
        "-d",
        "10.96.0.10",
        "--sport",
        String(sport),
        "--dport",
        "53",
        "--timeout",
        "120",
        "--dst-nat",
        dstNat,
      );
    entry(40001, "10.244.0.9");
    entry(40002, "10.244.0.8");
    const warnings: string[] = [];
    const c = new Conntrack({
      netns: ns,
      logger: { ...silentLogger, warn: (_o: object, msg: string) => warnings.push(msg) },
    });
    t.equal(
      await c.clearFlows([{ origDst: "10.96.0.10", dstNat: "10.244.0.7" }]),
      0,
      "no match is no failure",
    );
    t.equal(await c.clearFlows([{ origDst: "10.96.0.10", dstNat: "10.244.0.9" }]), 0);
    const left = ct("-L", "-p", "udp");
    t.notMatch(left, /sport=40001/, "the stale endpoint's entry is gone");
    t.match(left, /sport=40002/, "the other stays");
    t.equal(await c.clearFlows([{ origDst: "10.96.0.10", dport: 53 }]), 0);
    t.notMatch(ct("-L", "-p", "udp"), /sport=40002/, "ClusterIP:port entries are gone");
    t.same(warnings, []);
    const broken = new Conntrack({
      netns: ns,
      logger: silentLogger,
      conntrackPath: "/nonexistent/conntrack",
    });
    t.equal(await broken.clearFlows([{ dport: 53 }]), 1, "a failure is counted, not thrown");
  },
);
