/**
 * The rules against the real nft: every rendering loads, and a partial sync applied to a table
 * built from `prev` lists exactly as a fresh full sync of `next` (handles aside). Runs only in
 * network namespaces it creates (skiff-pt-<hex>) and deletes; nothing is loaded into the host's.
 * Needs root and nft; skips off CI when either is missing.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import t, { type Test } from "tap";
import {
  buildRuleset,
  type EndpointSlice,
  type ProxyRulesInput,
  renderFullSync,
  renderPartialSync,
  type Service,
} from "../src/index.js";
import { ep, input, OPTIONS, service, slice } from "./rules-fixtures.js";

function missingPart(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (ip netns, nft)";
  for (const [cmd, arg] of [
    ["nft", "--version"],
    ["ip", "-V"],
  ] as const)
    try {
      execFileSync(cmd, [arg], { stdio: "ignore" });
    } catch {
      return `${cmd} is missing`;
    }
  return undefined;
}
const missing = missingPart();
if (missing !== undefined && process.env.CI === undefined) {
  t.comment(`skipping: ${missing}`);
  process.exit(0);
}

/** A fresh network namespace, deleted when the test ends (also on failure). */
function netns(tt: Test): string {
  const name = `skiff-pt-${randomBytes(4).toString("hex")}`;
  execFileSync("ip", ["netns", "add", name]);
  tt.teardown(() => {
    execFileSync("ip", ["netns", "delete", name]);
  });
  return name;
}

function nft(ns: string, script: string, ...flags: string[]): void {
  execFileSync("ip", ["netns", "exec", ns, "nft", ...flags, "-f", "-"], {
    input: script,
    stdio: ["pipe", "ignore", "pipe"],
  });
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function stripHandles(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripHandles);
  if (v !== null && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== "handle")
        .map(([k, x]) => [k, stripHandles(x)]),
    );
  return v;
}

/** `nft -j list table`, handles dropped, objects sorted by kind and name, rules kept in chain order. */
function listTable(ns: string, table = OPTIONS.table): Json[] {
  const out = execFileSync("ip", ["netns", "exec", ns, "nft", "-j", "list", "table", "ip", table], {
    encoding: "utf8",
  });
  const items = (JSON.parse(out) as { nftables: Record<string, Json>[] }).nftables.filter(
    (o) => !("metainfo" in o),
  );
  const keyed = items.map((o) => {
    const [kind, body] = Object.entries(stripHandles(o) as Record<string, Json>)[0] as [
      string,
      Record<string, Json>,
    ];
    if ((kind === "set" || kind === "map") && Array.isArray(body.elem))
      body.elem = [...body.elem].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    const name = kind === "rule" ? String(body.chain) : String(body.name);
    return { sort: `${kind}\u0000${name}`, value: { [kind]: body } as Json };
  });
  // A stable sort keeps each chain's rules in their order.
  return keyed.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0)).map((k) => k.value);
}

/** Loads prev fully into `a`, applies the partial sync, and compares with next loaded fully into `b`. */
function checkPartial(
  tt: Test,
  a: string,
  b: string,
  prevIn: ProxyRulesInput,
  nextIn: ProxyRulesInput,
  what: string,
) {
  const prev = buildRuleset(prevIn);
  const next = buildRuleset(nextIn);
  nft(a, renderFullSync(prev));
  const partial = renderPartialSync(prev, next);
  if (partial !== undefined) nft(a, partial);
  nft(b, renderFullSync(next));
  tt.same(listTable(a), listTable(b), what);
}

const HTTP = [{ name: "http", port: 80, protocol: "TCP" as const }];
const SLICE_HTTP = [{ name: "http", port: 8080, protocol: "TCP" as const }];

t.test("full syncs load, check-only and for real, on a new and an existing table", async (t) => {
  const ns = netns(t);
  const rs = buildRuleset(
    input(
      [
        service("web", "10.96.0.20", [{ ...HTTP[0], nodePort: 30080 }], {
          type: "NodePort",
          sessionAffinity: "ClientIP",
          externalTrafficPolicy: "Local",
        }),
        service(
          "dns",
          "10.96.0.10",
          [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "sctp", port: 9, protocol: "SCTP" },
          ],
          { internalTrafficPolicy: "Local" },
        ),
        service("none", "10.96.0.30", [{ ...HTTP[0], nodePort: 30081 }], { type: "NodePort" }),
      ],
      [
        slice("web-1", "web", [ep("10.244.0.5"), ep("10.244.1.5", "node-b")], SLICE_HTTP),
        slice(
          "dns-1",
          "dns",
          [ep("10.244.0.1")],
          [
            { name: "dns", port: 53, protocol: "UDP" },
            { name: "sctp", port: 9, protocol: "SCTP" },
          ],
        ),
      ],
      { clusterCIDR: "10.244.0.0/16" },
    ),
  );
  const text = renderFullSync(rs);
  nft(ns, text, "-c");
  nft(ns, text);
  nft(ns, text);
  const listed = execFileSync("ip", ["netns", "exec", ns, "nft", "list", "table", "ip", OPTIONS.table], {
    encoding: "utf8",
  });
  t.match(listed, /tcp \. 30081 : goto reject-chain/);
  t.match(listed, /flags dynamic,timeout/);
  t.equal(
    listTable(ns).filter((o) => o !== null && typeof o === "object" && "chain" in o).length,
    rs.chains.size,
  );
});

t.test("partial syncs equal full syncs: scenarios", async (t) => {
  const a = netns(t);
  const b = netns(t);
  const web = (spec = {}) =>
    service("web", "10.96.0.20", [{ ...HTTP[0], nodePort: 30080 }], { type: "NodePort", ...spec });
  const s = (...ips: string[]) =>
    slice(
      "web-1",
      "web",
      ips.map((ip, i) => ep(ip, i % 2 ? "node-b" : "node-a")),
      SLICE_HTTP,
    );
  const cases: [string, ProxyRulesInput, ProxyRulesInput][] = [
    ["an endpoint added", input([web()], [s("10.244.0.5")]), input([web()], [s("10.244.0.5", "10.244.1.6")])],
    ["all endpoints gone", input([web()], [s("10.244.0.5", "10.244.1.6")]), input([web()], [])],
    ["endpoints come back", input([web()], []), input([web()], [s("10.244.0.5")])],
    [
      "a Service deleted",
      input([web(), service("api", "10.96.0.21", HTTP)], [s("10.244.0.5")]),
      input([web()], [s("10.244.0.5")]),
    ],
    [
      "affinity on",
      input([web()], [s("10.244.0.5", "10.244.1.6")]),
      input([web({ sessionAffinity: "ClientIP" })], [s("10.244.0.5", "10.244.1.6")]),
    ],
    [
      "affinity off",
      input([web({ sessionAffinity: "ClientIP" })], [s("10.244.0.5")]),
      input([web()], [s("10.244.0.5")]),
    ],
    [
      "eTP to Local",
      input([web()], [s("10.244.0.5", "10.244.1.6")]),
      input([web({ externalTrafficPolicy: "Local" })], [s("10.244.1.6")]),
    ],
    [
      "affinity timeout",
      input([web({ sessionAffinity: "ClientIP" })], [s("10.244.0.5")]),
      input(
        [web({ sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } })],
        [s("10.244.0.5")],
      ),
    ],
    [
      "cluster CIDR set",
      input([web()], [s("10.244.0.5")]),
      input([web()], [s("10.244.0.5")], { clusterCIDR: "10.244.0.0/16" }),
    ],
  ];
  for (const [what, prev, next] of cases) checkPartial(t, a, b, prev, next, what);
});

const IPS = ["10.244.0.5", "10.244.0.6", "10.244.1.5", "10.244.1.6"];
const arbEndpoint = fc.record({
  ip: fc.constantFrom(...IPS),
  node: fc.constantFrom("node-a", "node-b"),
  state: fc.constantFrom("ready", "terminating", "gone"),
});
const arbService = fc.record({
  present: fc.boolean(),
  nodePort: fc.boolean(),
  eTPLocal: fc.boolean(),
  iTPLocal: fc.boolean(),
  affinity: fc.constantFrom(0, 60, 10800),
  protocols: fc.subarray(["TCP", "UDP", "SCTP"] as const, { minLength: 1 }),
  endpoints: fc.array(arbEndpoint, { maxLength: 4 }),
});
const arbState = fc.record({
  services: fc.array(arbService, { minLength: 3, maxLength: 3 }),
  clusterCIDR: fc.boolean(),
});

type State = fc.Infer<typeof arbState>;

/** Three Services at fixed addresses (so no two share a map key); the state picks everything else. */
function toInput(state: State): ProxyRulesInput {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  state.services.forEach((m, i) => {
    if (!m.present) return;
    const name = `svc${i}`;
    const ports = m.protocols.map((protocol, j) => ({
      name: `p${j}`,
      port: 80 + j,
      protocol,
      ...(m.nodePort ? { nodePort: 30000 + i * 10 + j } : {}),
    }));
    services.push(
      service(name, `10.96.0.${10 + i}`, ports, {
        type: m.nodePort ? "NodePort" : "ClusterIP",
        externalTrafficPolicy: m.eTPLocal ? "Local" : "Cluster",
        internalTrafficPolicy: m.iTPLocal ? "Local" : "Cluster",
        sessionAffinity: m.affinity > 0 ? "ClientIP" : "None",
        ...(m.affinity > 0 ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: m.affinity } } } : {}),
      }),
    );
    const conditions = {
      ready: { ready: true },
      terminating: { ready: false, serving: true, terminating: true },
      gone: { ready: false },
    };
    slices.push(
      slice(
        `${name}-1`,
        name,
        m.endpoints.map((e) => ep(e.ip, e.node, conditions[e.state])),
        ports.map((p) => ({ name: p.name, port: 8000 + p.port, protocol: p.protocol })),
      ),
    );
  });
  return input(services, slices, state.clusterCIDR ? { clusterCIDR: "10.244.0.0/16" } : {});
}

t.test("partial syncs equal full syncs: random changes", async (t) => {
  const a = netns(t);
  const b = netns(t);
  fc.assert(
    fc.property(arbState, arbState, (prev, next) => {
      checkPartial(t, a, b, toInput(prev), toInput(next), "random change");
    }),
    { numRuns: 15 },
  );
});
