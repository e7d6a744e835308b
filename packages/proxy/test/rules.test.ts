/**
 * The pure rule generation: structure of the Ruleset for each Service feature, endpoint
 * selection, determinism, and what the partial sync text contains. Nothing here runs nft.
 */
import t from "tap";
import { buildRuleset, type Ruleset, renderFullSync, renderPartialSync } from "../src/index.js";
import {
  base32,
  hashAndTruncate,
  servicePortChainNameBase,
  servicePortEndpointChainNameBase,
} from "../src/rules/names.js";
import { ep, input, service, slice } from "./rules-fixtures.js";

const HTTP = [{ name: "http", port: 80, targetPort: "web", protocol: "TCP" as const }];
const SLICE_HTTP = [{ name: "http", port: 8080, protocol: "TCP" as const }];

function elements(rs: Ruleset, map: string): string[] {
  return rs.sets.get(map)?.elements ?? [];
}
/** The chain base of default/<name>, <proto>, <port> (and an endpoint's ip/port). */
function base(name: string, proto = "tcp", port = "http", ip?: string, epPort = 8080): string {
  return ip === undefined
    ? servicePortChainNameBase("default", name, proto, port)
    : servicePortEndpointChainNameBase("default", name, proto, port, ip, epPort);
}
function chain(rs: Ruleset, name: string): string[] | undefined {
  return rs.chains.get(name);
}
function serviceChains(rs: Ruleset): string[] {
  return [...rs.chains.keys()].filter((c) => c.includes("/")).sort();
}

t.test("chain names hash as kube-proxy's hashAndTruncate", async (t) => {
  // Names from kube-proxy's nftables proxier_test.go.
  t.equal(servicePortChainNameBase("ns1", "svc1", "tcp", "p80"), "ULMVA6XW-ns1/svc1/tcp/p80");
  t.equal(hashAndTruncate("ns1/svc1/tcp/p80__10.180.0.1/80"), "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
  t.equal(base32(Buffer.from("foobar")), "MZXW6YTBOI", "RFC 4648 test vector, unpadded");
  const long = hashAndTruncate("x".repeat(300));
  t.equal(long.length, 240);
  t.ok(long.endsWith("..."));
});

t.test("a ClusterIP Service with two ready endpoints", async (t) => {
  const rs = buildRuleset(
    input(
      [service("web", "10.96.0.20", HTTP)],
      [slice("web-1", "web", [ep("10.244.0.6"), ep("10.244.0.5", "node-b")], SLICE_HTTP)],
    ),
  );
  const svc = `service-${base("web")}`;
  const ep5 = `endpoint-${base("web", "tcp", "http", "10.244.0.5")}`;
  const ep6 = `endpoint-${base("web", "tcp", "http", "10.244.0.6")}`;
  t.same(serviceChains(rs), [ep5, ep6, svc].sort());
  t.same(elements(rs, "service-ips"), [`10.96.0.20 . tcp . 80 : goto ${svc}`]);
  t.same(elements(rs, "no-endpoint-services"), []);
  t.same(chain(rs, svc), [`numgen random mod 2 vmap { 0 : goto ${ep5}, 1 : goto ${ep6} }`]);
  t.same(chain(rs, ep5), [
    "ip saddr 10.244.0.5 jump mark-for-masquerade",
    "meta l4proto tcp dnat to 10.244.0.5:8080",
  ]);
  t.same(rs.servicePorts, [
    {
      name: "default/web:http",
      protocol: "TCP",
      clusterIP: "10.96.0.20",
      port: 80,
      endpoints: ["10.244.0.5:8080", "10.244.0.6:8080"],
    },
  ]);
  t.same(chain(rs, "mark-for-masquerade"), ["meta mark set meta mark | 0x00004000"]);
  t.equal(chain(rs, "nat-output")?.[0], "type nat hook output priority -100; policy accept;");
  t.same(chain(rs, "masquerading"), [
    "meta mark & 0x00004000 == 0 return",
    "meta mark set meta mark ^ 0x00004000",
    "masquerade fully-random",
  ]);
});

t.test("ready endpoints, else serving-terminating ones, else REJECT", async (t) => {
  const svc = service("web", "10.96.0.20", HTTP);
  const build = (eps: ReturnType<typeof ep>[]) =>
    buildRuleset(input([svc], [slice("web-1", "web", eps, SLICE_HTTP)])).servicePorts[0]?.endpoints;
  const terminating = { ready: false, serving: true, terminating: true };
  const gone = { ready: false, serving: false, terminating: true };
  t.same(build([ep("10.244.0.5"), ep("10.244.0.6", "node-a", terminating)]), ["10.244.0.5:8080"]);
  t.same(build([ep("10.244.0.5", "node-a", { ready: true })]), ["10.244.0.5:8080"], "explicit ready");
  t.same(build([ep("10.244.0.6", "node-a", terminating), ep("10.244.0.7", "node-a", gone)]), [
    "10.244.0.6:8080",
  ]);
  t.same(build([ep("10.244.0.6", "node-a", { ready: false })]), [], "not ready and not terminating");

  const rs = buildRuleset(
    input([svc], [slice("web-1", "web", [ep("10.244.0.7", "node-a", gone)], SLICE_HTTP)]),
  );
  t.same(elements(rs, "no-endpoint-services"), ["10.96.0.20 . tcp . 80 : goto reject-chain"]);
  t.same(elements(rs, "service-ips"), []);
  t.same(serviceChains(rs), [], "no chains for a Service without endpoints");
  t.same(
    chain(rs, "reject-chain"),
    ["meta l4proto tcp reject with tcp reset", "reject"],
    "TCP reset, else ICMP",
  );
  t.same(chain(rs, "filter-prerouting"), [
    "type filter hook prerouting priority -110; policy accept;",
    "ct state new jump service-endpoints-check",
  ]);
  t.same(chain(rs, "service-endpoints-check"), [
    "ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
  ]);
});

t.test("ports match by name and protocol; addresses merge across slices", async (t) => {
  const svc = service("dns", "10.96.0.10", [
    { name: "dns", port: 53, protocol: "UDP", targetPort: "dns" },
    { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: "dns-tcp" },
    { name: "metrics", port: 9153, protocol: "TCP" },
  ]);
  const slices = [
    slice(
      "dns-b",
      "dns",
      [ep("10.244.0.9"), ep("10.244.0.5", "node-a", { ready: false })],
      [
        { name: "dns", port: 5353, protocol: "UDP" },
        { name: "dns-tcp", port: 5354, protocol: "TCP" },
      ],
    ),
    slice("dns-a", "dns", [ep("10.244.0.5")], [{ name: "dns", port: 5353, protocol: "UDP" }]),
    // A slice with port "metrics" but UDP: the TCP Service port must not match it.
    slice("dns-c", "dns", [ep("10.244.0.7")], [{ name: "metrics", port: 9153, protocol: "UDP" }]),
    slice("other", "not-dns", [ep("10.244.0.8")], [{ name: "dns", port: 53, protocol: "UDP" }]),
    slice(
      "v6",
      "dns",
      [{ addresses: ["fd00::1"] }],
      [{ name: "dns", port: 53, protocol: "UDP" }],
      "default",
      "IPv6",
    ),
  ];
  const rs = buildRuleset(input([svc], slices));
  t.same(
    rs.servicePorts.map((p) => [p.name, p.protocol, p.endpoints]),
    [
      ["default/dns:dns", "UDP", ["10.244.0.5:5353", "10.244.0.9:5353"]],
      ["default/dns:dns-tcp", "TCP", ["10.244.0.9:5354"]],
      ["default/dns:metrics", "TCP", []],
    ],
  );
  t.ok(elements(rs, "no-endpoint-services").includes("10.96.0.10 . tcp . 9153 : goto reject-chain"));
  t.ok(elements(rs, "service-ips").some((e) => e.startsWith("10.96.0.10 . udp . 53 : goto service-")));
  t.same(
    chain(rs, `endpoint-${base("dns", "udp", "dns", "10.244.0.5", 5353)}`)?.at(-1),
    "meta l4proto udp dnat to 10.244.0.5:5353",
  );
});

t.test("internalTrafficPolicy Local: only this node's endpoints, DROP when none", async (t) => {
  const svc = service("dns", "10.96.0.10", HTTP, { internalTrafficPolicy: "Local" });
  const local = `local-${base("dns")}`;
  const both = buildRuleset(
    input([svc], [slice("s", "dns", [ep("10.244.0.5", "node-a"), ep("10.244.1.5", "node-b")], SLICE_HTTP)]),
  );
  t.same(elements(both, "service-ips"), [`10.96.0.10 . tcp . 80 : goto ${local}`]);
  t.same(chain(both, local), [
    `numgen random mod 1 vmap { 0 : goto endpoint-${base("dns", "tcp", "http", "10.244.0.5")} }`,
  ]);
  t.notOk(both.chains.has(`service-${base("dns")}`), "no Cluster policy chain");
  t.same(both.servicePorts[0]?.endpoints, ["10.244.0.5:8080"]);

  const remote = buildRuleset(input([svc], [slice("s", "dns", [ep("10.244.1.5", "node-b")], SLICE_HTTP)]));
  t.same(elements(remote, "no-endpoint-services"), ["10.96.0.10 . tcp . 80 : drop"]);
  t.same(elements(remote, "service-ips"), []);
});

t.test("NodePort with Cluster policy: masquerade, then the service chain", async (t) => {
  const svc = service("web", "10.96.0.20", [{ ...HTTP[0], nodePort: 30080 }], { type: "NodePort" });
  const rs = buildRuleset(input([svc], [slice("s", "web", [ep("10.244.1.5", "node-b")], SLICE_HTTP)]));
  const ext = `external-${base("web")}`;
  t.same(elements(rs, "service-nodeports"), [`tcp . 30080 : goto ${ext}`]);
  t.same(chain(rs, ext), ["jump mark-for-masquerade", `goto service-${base("web")}`]);
  t.equal(rs.servicePorts[0]?.nodePort, 30080);
  t.same(chain(rs, "services"), [
    "ip daddr . meta l4proto . th dport vmap @service-ips",
    "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
  ]);

  const none = buildRuleset(input([svc], []));
  t.same(elements(none, "no-endpoint-nodeports"), ["tcp . 30080 : goto reject-chain"]);
  t.same(elements(none, "service-nodeports"), []);
  t.same(chain(none, "filter-input")?.[1], "ct state new jump nodeport-endpoints-check");
});

t.test("externalTrafficPolicy Local: local endpoints, short-circuit, DROP without local ones", async (t) => {
  const svc = service("web", "10.96.0.20", [{ ...HTTP[0], nodePort: 30080 }], {
    type: "NodePort",
    externalTrafficPolicy: "Local",
  });
  const ext = `external-${base("web")}`;
  const cluster = `service-${base("web")}`;
  const local = `local-${base("web")}`;
  const opts = { clusterCIDR: "10.244.0.0/16" };
  const rs = buildRuleset(
    input([svc], [slice("s", "web", [ep("10.244.0.5"), ep("10.244.1.5", "node-b")], SLICE_HTTP)], opts),
  );
  t.same(chain(rs, ext), [
    `ip saddr 10.244.0.0/16 goto ${cluster}`,
    "fib saddr type local jump mark-for-masquerade",
    `fib saddr type local goto ${cluster}`,
    `goto ${local}`,
  ]);
  t.same(chain(rs, local), [
    `numgen random mod 1 vmap { 0 : goto endpoint-${base("web", "tcp", "http", "10.244.0.5")} }`,
  ]);
  t.equal(
    chain(rs, cluster)?.[0],
    `ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
  );
  t.same(elements(rs, "no-endpoint-nodeports"), []);

  const remote = buildRuleset(
    input([svc], [slice("s", "web", [ep("10.244.1.5", "node-b")], SLICE_HTTP)], opts),
  );
  t.same(elements(remote, "no-endpoint-nodeports"), ["tcp . 30080 : drop"]);
  t.same(
    elements(remote, "service-nodeports"),
    [`tcp . 30080 : goto ${ext}`],
    "short-circuit still reachable",
  );
  t.equal(chain(remote, ext)?.length, 3, "no goto to a local chain");
  t.notOk(remote.chains.has(local));
});

t.test("sessionAffinity ClientIP: per-endpoint sets with the timeout", async (t) => {
  const svc = service("web", "10.96.0.20", HTTP, {
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
  });
  const rs = buildRuleset(
    input([svc], [slice("s", "web", [ep("10.244.0.5"), ep("10.244.0.6")], SLICE_HTTP)]),
  );
  const b5 = base("web", "tcp", "http", "10.244.0.5");
  const b6 = base("web", "tcp", "http", "10.244.0.6");
  t.same(rs.sets.get(`affinity-${b5}`), {
    kind: "set",
    declaration: "type ipv4_addr; flags dynamic,timeout; timeout 60s",
    elements: [],
  });
  t.same(chain(rs, `service-${base("web")}`), [
    `ip saddr @affinity-${b5} goto endpoint-${b5}`,
    `ip saddr @affinity-${b6} goto endpoint-${b6}`,
    `numgen random mod 2 vmap { 0 : goto endpoint-${b5}, 1 : goto endpoint-${b6} }`,
  ]);
  t.equal(chain(rs, `endpoint-${b5}`)?.[1], `update @affinity-${b5} { ip saddr }`);
  const dflt = buildRuleset(
    input(
      [{ ...svc, spec: { ...svc.spec, sessionAffinityConfig: undefined } }],
      [slice("s", "web", [ep("10.244.0.5")], SLICE_HTTP)],
    ),
  );
  t.match(dflt.sets.get(`affinity-${b5}`)?.declaration, /timeout 10800s$/);
});

t.test("headless, ExternalName, IPv6 and unknown protocols get no rules", async (t) => {
  const eps = [slice("s", "x", [ep("10.244.0.5")], SLICE_HTTP)];
  const skipped = [
    service("x", "None", HTTP),
    { ...service("x", "", HTTP), metadata: { name: "x", namespace: "b" } },
    service("ext", "", HTTP, { type: "ExternalName", externalName: "example.com" }),
    service("v6", "fd00::10", HTTP),
    service("odd", "10.96.0.30", [{ name: "http", port: 80, protocol: "ICMP" as never }]),
  ];
  const rs = buildRuleset(input(skipped, eps));
  t.same(rs.servicePorts, []);
  t.same(serviceChains(rs), []);
  for (const map of ["service-ips", "service-nodeports", "no-endpoint-services", "no-endpoint-nodeports"])
    t.same(elements(rs, map), [], map);
});

t.test("UDP and SCTP ports, and a deterministic rendering", async (t) => {
  const services = [
    service("a", "10.96.0.21", [{ port: 53, protocol: "UDP" }]),
    service("b", "10.96.0.22", [{ name: "s", port: 9, protocol: "SCTP" }], {}, "other"),
  ];
  const slices = [
    slice("a-1", "a", [ep("10.244.0.6"), ep("10.244.0.5")], [{ port: 5353, protocol: "UDP" }]),
    slice("b-1", "b", [ep("10.244.0.7")], [{ name: "s", port: 99, protocol: "SCTP" }], "other"),
  ];
  const one = renderFullSync(buildRuleset(input(services, slices)));
  const two = renderFullSync(
    buildRuleset(
      input(
        [...services].reverse(),
        [...slices].reverse().map((s) => ({ ...s, endpoints: [...(s.endpoints ?? [])].reverse() })),
      ),
    ),
  );
  t.equal(one, two, "same input in another order -> same text");
  t.match(
    one,
    /add element ip skiff-proxy service-ips \{ 10\.96\.0\.21 \. udp \. 53 : goto service-\w{8}-default\/a\/udp\/, 10\.96\.0\.22 \. sctp \. 9 : goto service-\w{8}-other\/b\/sctp\/s \}/,
  );
  t.match(one, /meta l4proto sctp dnat to 10\.244\.0\.7:99/);
  t.match(one, /^add table ip skiff-proxy\ndelete table ip skiff-proxy\nadd table ip skiff-proxy\n/);
  t.equal(
    buildRuleset(input(services, slices)).servicePorts[0]?.name,
    "default/a",
    "unnamed port: no colon, as kube",
  );
});

t.test("options are checked", async (t) => {
  t.throws(() => buildRuleset(input([], [], { table: "bad name" })));
  t.throws(() => buildRuleset(input([], [], { masqueradeBit: 32 })));
  t.throws(() => buildRuleset(input([], [], { clusterCIDR: "10.244.0.0" })));
  t.match(renderFullSync(buildRuleset(input([], [], { masqueradeBit: 31 }))), /\| 0x80000000/);
});

t.test("partial sync: element-level map changes, chains flushed, stale chains deleted last", async (t) => {
  const web = service("web", "10.96.0.20", HTTP);
  const api = service("api", "10.96.0.21", HTTP);
  const s1 = slice("w", "web", [ep("10.244.0.5"), ep("10.244.0.6")], SLICE_HTTP);
  const prev = buildRuleset(input([web, api], [s1]));
  t.equal(renderPartialSync(prev, buildRuleset(input([web, api], [s1]))), undefined, "nothing changed");

  // One endpoint goes: only the service chain changes and one endpoint chain goes away.
  const next = buildRuleset(input([web, api], [{ ...s1, endpoints: [ep("10.244.0.5")] }]));
  const text = renderPartialSync(prev, next) ?? "";
  const svc = `service-${base("web")}`;
  const gone = `endpoint-${base("web", "tcp", "http", "10.244.0.6")}`;
  t.same(text.trim().split("\n"), [
    `flush chain ip skiff-proxy ${svc}`,
    `flush chain ip skiff-proxy ${gone}`,
    `add rule ip skiff-proxy ${svc} numgen random mod 1 vmap { 0 : goto endpoint-${base("web", "tcp", "http", "10.244.0.5")} }`,
    `delete chain ip skiff-proxy ${gone}`,
  ]);

  // All endpoints go: the map element moves from service-ips to no-endpoint-services.
  const empty = buildRuleset(input([web, api], []));
  const lines = (renderPartialSync(next, empty) ?? "").trim().split("\n");
  const del = lines.indexOf(`delete element ip skiff-proxy service-ips { 10.96.0.20 . tcp . 80 }`);
  const add = lines.indexOf(
    `add element ip skiff-proxy no-endpoint-services { 10.96.0.20 . tcp . 80 : goto reject-chain }`,
  );
  const delChain = lines.indexOf(`delete chain ip skiff-proxy ${svc}`);
  t.ok(del >= 0 && add > del && delChain > del, "element deleted before its chain");
  t.notOk(
    lines.some((l) => l.includes("no-endpoint-services {") && l.includes("10.96.0.21")),
    "api untouched",
  );

  // A changed affinity timeout cannot be altered in place: full sync.
  const sticky = (s: number) =>
    buildRuleset(
      input(
        [
          {
            ...web,
            spec: {
              ...web.spec,
              sessionAffinity: "ClientIP",
              sessionAffinityConfig: { clientIP: { timeoutSeconds: s } },
            },
          },
        ],
        [s1],
      ),
    );
  t.equal(renderPartialSync(sticky(10), sticky(20)), renderFullSync(sticky(20)));
  t.match(
    renderPartialSync(prev, buildRuleset(input([web, api], [s1], { table: "other" }))),
    /^add table ip skiff-proxy\ndelete table ip skiff-proxy\nadd table ip other\n/,
  );
});
