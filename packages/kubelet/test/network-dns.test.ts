/**
 * Pod DNS as kube's pkg/kubelet/network/dns forms it (dns_test.go's cases, table-driven):
 * parseResolvConf, the base per dnsPolicy, spec.dnsConfig merged in, the limits and their
 * events, containerd's resolv.conf layout; then the managed /etc/resolv.conf mount and the
 * --cluster-dns and --resolv-conf flags.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "@skiff/api";
import t from "tap";
import {
  DirVolumeManager,
  type DNSConfig,
  formatResolvConf,
  type KubeletObjectSource,
  parseAgentFlags,
  parseResolvConf,
  podDNSConfig,
  podResolvConf,
} from "../src/index.js";

const HOST = "nameserver 192.168.1.1\nsearch example.com corp.example.com\noptions timeout:2 attempts:3\n";
const base = { clusterDNS: ["10.96.0.10"], clusterDomain: "cluster.local", hostResolvConf: HOST };
const CLUSTER_SEARCH = ["ns1.svc.cluster.local", "svc.cluster.local", "cluster.local"];
const HOST_CONFIG: DNSConfig = {
  servers: ["192.168.1.1"],
  searches: ["example.com", "corp.example.com"],
  options: ["timeout:2", "attempts:3"],
};

function pod(spec: object = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns1", uid: "u1" },
    spec: { containers: [{ name: "c", image: "i" }], ...spec },
  } as Pod;
}

t.test("parseResolvConf", async (t) => {
  const cases: Array<[string, Partial<DNSConfig>]> = [
    ["", {}],
    ["nameserver 1.2.3.4", { servers: ["1.2.3.4"] }],
    [" nameserver 1.2.3.4 ", { servers: ["1.2.3.4"] }],
    ["\tnameserver 1.2.3.4\t", { servers: ["1.2.3.4"] }],
    ["nameserver 1.2.3.4\nnameserver 5.6.7.8", { servers: ["1.2.3.4", "5.6.7.8"] }],
    ["#comment\nnameserver 1.2.3.4\n# nameserver 9.9.9.9", { servers: ["1.2.3.4"] }],
    ["search foo", { searches: ["foo"] }],
    ["search foo bar", { searches: ["foo", "bar"] }],
    ["search foo bar\nsearch baz", { searches: ["baz"] }],
    ["search foo. bar.", { searches: ["foo", "bar"] }],
    ["options ndots:5 attempts:2", { options: ["ndots:5", "attempts:2"] }],
    ["options ndots:1\noptions ndots:5 debug", { options: ["ndots:5", "debug"] }],
    [
      "nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar\noptions ndots:1",
      { servers: ["1.2.3.4", "5.6.7.8"], searches: ["bar"], options: ["ndots:1"] },
    ],
    ["domain example.com\nsortlist 130.155.160.0", {}],
  ];
  for (const [text, want] of cases)
    t.same(parseResolvConf(text), { servers: [], searches: [], options: [], ...want }, JSON.stringify(text));
  t.throws(() => parseResolvConf("nameserver\n"), /nameserver list is empty/, "a nameserver without address");
});

t.test("the base configuration per dnsPolicy", async (t) => {
  const cluster: DNSConfig = {
    servers: ["10.96.0.10"],
    searches: [...CLUSTER_SEARCH, "example.com", "corp.example.com"],
    options: ["ndots:5"],
  };
  const cases: Array<[string, object, DNSConfig]> = [
    ["no policy (defaulted ClusterFirst)", {}, cluster],
    ["ClusterFirst", { dnsPolicy: "ClusterFirst" }, cluster],
    [
      "ClusterFirst on the host network falls back to Default",
      { dnsPolicy: "ClusterFirst", hostNetwork: true },
      HOST_CONFIG,
    ],
    [
      "ClusterFirstWithHostNet on the host network",
      { dnsPolicy: "ClusterFirstWithHostNet", hostNetwork: true },
      cluster,
    ],
    ["ClusterFirstWithHostNet off the host network", { dnsPolicy: "ClusterFirstWithHostNet" }, cluster],
    ["Default", { dnsPolicy: "Default" }, HOST_CONFIG],
    ["Default on the host network", { dnsPolicy: "Default", hostNetwork: true }, HOST_CONFIG],
    ["an unknown policy is treated as ClusterFirst", { dnsPolicy: "Bogus" }, cluster],
    [
      "None: only dnsConfig",
      { dnsPolicy: "None", dnsConfig: { nameservers: ["203.0.113.1"], searches: ["my.dns.search.suffix"] } },
      { servers: ["203.0.113.1"], searches: ["my.dns.search.suffix"], options: [] },
    ],
  ];
  for (const [name, spec, want] of cases) {
    const got = podDNSConfig(pod(spec), base);
    t.same(got.config, want, name);
    t.same(got.events, [], `${name}: no event`);
  }
});

t.test("cluster search domains, several cluster DNS servers, no --resolv-conf", async (t) => {
  t.same(podDNSConfig(pod(), { ...base, clusterDNS: ["10.96.0.10", "10.96.0.11"] }).config.servers, [
    "10.96.0.10",
    "10.96.0.11",
  ]);
  t.same(
    podDNSConfig(pod(), { ...base, hostResolvConf: "search cluster.local svc.cluster.local other.org\n" })
      .config.searches,
    [...CLUSTER_SEARCH, "other.org"],
    "the host's domains follow the cluster's, without duplicates",
  );
  t.same(
    podDNSConfig(pod(), { ...base, clusterDomain: "" }).config.searches,
    ["example.com", "corp.example.com"],
    "no cluster domain: the host's search domains only",
  );
  const noHost = { ...base, hostResolvConf: undefined };
  t.same(podDNSConfig(pod(), noHost).config, {
    servers: ["10.96.0.10"],
    searches: CLUSTER_SEARCH,
    options: ["ndots:5"],
  });
  t.same(
    podDNSConfig(pod({ dnsPolicy: "Default" }), noHost).config,
    { servers: ["127.0.0.1"], searches: ["."], options: [] },
    "--resolv-conf '': the local machine's resolver",
  );
  t.same(podDNSConfig(pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"] } }), noHost).config, {
    servers: ["1.1.1.1"],
    searches: [],
    options: [],
  });
});

t.test("no cluster DNS: ClusterFirst falls back to Default with MissingClusterDNS", async (t) => {
  const got = podDNSConfig(pod(), { ...base, clusterDNS: [] });
  t.same(got.config, HOST_CONFIG);
  t.same(got.events, [
    {
      reason: "MissingClusterDNS",
      message:
        'pod: "p_ns1(u1)". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.',
    },
  ]);
  t.same(
    podDNSConfig(pod({ dnsPolicy: "Default" }), { ...base, clusterDNS: [] }).events,
    [],
    "Default needs none",
  );
});

t.test("spec.dnsConfig merges into the base", async (t) => {
  const dnsConfig = {
    nameservers: ["10.96.0.10", "203.0.113.1"],
    searches: ["ns1.svc.cluster.local", "my.suffix"],
    options: [{ name: "ndots", value: "2" }, { name: "edns0" }, { name: "timeout", value: "1" }],
  };
  t.same(podDNSConfig(pod({ dnsConfig }), base).config, {
    servers: ["10.96.0.10", "203.0.113.1"],
    searches: [...CLUSTER_SEARCH, "example.com", "corp.example.com", "my.suffix"],
    options: ["ndots:2", "edns0", "timeout:1"],
  });
  t.same(
    podDNSConfig(
      pod({ dnsPolicy: "Default", dnsConfig: { options: [{ name: "attempts", value: "5" }] } }),
      base,
    ).config.options,
    ["timeout:2", "attempts:5"],
    "an option of the same name is overridden in place",
  );
});

t.test("dnsPolicy None without a usable dnsConfig: kube-apiserver's message as an event", async (t) => {
  const none = podDNSConfig(pod({ dnsPolicy: "None" }), base);
  t.same(none.config, { servers: [], searches: [], options: [] });
  t.same(none.events, [
    {
      reason: "DNSConfigForming",
      message: "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
    },
  ]);
  t.match(podDNSConfig(pod({ dnsPolicy: "None", dnsConfig: { searches: ["a"] } }), base).events, [
    { message: /must provide at least one DNS nameserver when `dnsPolicy` is None/ },
  ]);
});

t.test("limits: 3 nameservers, 32 search domains, 2048 characters, 253 per domain", async (t) => {
  const servers = podDNSConfig(pod({ dnsConfig: { nameservers: ["1.1.1.1", "2.2.2.2", "3.3.3.3"] } }), base);
  t.same(servers.config.servers, ["10.96.0.10", "1.1.1.1", "2.2.2.2"]);
  t.same(servers.events, [
    {
      reason: "DNSConfigForming",
      message:
        "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2",
    },
  ]);

  const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
  const searches = podDNSConfig(
    pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"], searches: many } }),
    base,
  );
  t.same(searches.config.searches, many.slice(0, 32), "the first 32 kept");
  t.match(searches.events, [{ reason: "DNSConfigForming", message: /^Search Line limits were exceeded/ }]);

  const long = "a".repeat(254);
  const dropped = podDNSConfig(
    pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"], searches: ["ok", long] } }),
    base,
  );
  t.same(dropped.config.searches, ["ok"], "a domain over 253 characters is left out");
  t.equal(dropped.events.length, 1);

  // 20 domains of 120 characters: 2419 characters joined; four cut from the end leave 1935.
  const wide = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, "0")}${"b".repeat(118)}`);
  const cut = podDNSConfig(
    pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["1.1.1.1"], searches: wide } }),
    base,
  );
  t.same(cut.config.searches, wide.slice(0, 16));
  t.ok(cut.config.searches.join(" ").length <= 2048);
  t.equal(
    cut.events[0]?.message,
    `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${wide.slice(0, 16).join(" ")}`,
  );
});

t.test("resolv.conf as containerd writes it", async (t) => {
  t.equal(
    podResolvConf(pod(), base).content,
    "search ns1.svc.cluster.local svc.cluster.local cluster.local example.com corp.example.com\n" +
      "nameserver 10.96.0.10\noptions ndots:5\n",
  );
  t.equal(
    formatResolvConf({ servers: ["1.1.1.1", "2.2.2.2"], searches: [], options: [] }),
    "nameserver 1.1.1.1\nnameserver 2.2.2.2\n",
  );
  t.equal(formatResolvConf({ servers: [], searches: [], options: [] }), "");
});

t.test("the managed /etc/resolv.conf is written and mounted for every container", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "skiff-dns-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const hostFile = join(root, "host-resolv.conf");
  writeFileSync(hostFile, HOST);
  const events: string[] = [];
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const vm = new DirVolumeManager({
    podsDir: join(root, "pods"),
    sources: {} as KubeletObjectSource,
    nodeName: "n",
    logger: silent,
    clusterDomain: "cluster.local",
    dns: { clusterDNS: [], resolvConf: hostFile, recordEvent: (_p, reason) => events.push(reason) },
  });
  const p = pod();
  const c = p.spec.containers[0] as Pod["spec"]["containers"][0];
  const mounts = vm.mountsFor(p, c, new Map());
  t.same(mounts, [
    { hostPath: join(root, "pods/u1/resolv.conf"), containerPath: "/etc/resolv.conf", readOnly: false },
  ]);
  t.equal(readFileSync(join(root, "pods/u1/resolv.conf"), "utf8"), formatResolvConf(HOST_CONFIG));
  vm.mountsFor(p, c, new Map());
  t.same(events, ["MissingClusterDNS"], "the event once, not per container start");
  const own = {
    ...c,
    volumeMounts: [{ name: "v", mountPath: "/etc/resolv.conf" }],
  } as Pod["spec"]["containers"][0];
  t.same(
    vm.mountsFor(p, own, new Map([["v", root]])).map((m) => m.hostPath),
    [root],
    "a container mounting /etc/resolv.conf itself keeps its own",
  );
  const noFile = new DirVolumeManager({
    podsDir: join(root, "pods"),
    sources: {} as KubeletObjectSource,
    nodeName: "n",
    logger: silent,
    dns: { clusterDNS: ["10.96.0.10"], resolvConf: join(root, "missing") },
  });
  noFile.mountsFor(p, c, new Map());
  t.equal(
    readFileSync(join(root, "pods/u1/resolv.conf"), "utf8"),
    "search ns1.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
    "a missing --resolv-conf reads as an empty one",
  );
  writeFileSync(hostFile, "nameserver\n");
  t.throws(
    () => vm.mountsFor(p, c, new Map()),
    /nameserver list is empty/,
    "a malformed one fails the container",
  );
});

t.test("--cluster-dns and --resolv-conf", async (t) => {
  const d = parseAgentFlags([], { embedded: true });
  t.same(d.clusterDNS, ["10.96.0.10"], "the tenth service IP by default");
  t.equal(d.resolvConf, "/etc/resolv.conf");
  const o = parseAgentFlags(["--cluster-dns", "10.43.0.10,fd00::a", "--resolv-conf", ""], { embedded: true });
  t.same(o.clusterDNS, ["10.43.0.10", "fd00::a"]);
  t.equal(o.resolvConf, "");
  t.same(parseAgentFlags(["--cluster-dns", ""], { embedded: true }).clusterDNS, []);
  t.throws(() => parseAgentFlags(["--cluster-dns", "kube-dns"], { embedded: true }), /not an IP address/);
});
