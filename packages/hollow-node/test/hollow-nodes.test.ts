/**
 * Hollow nodes against a real API server (in process, embedded store, fresh data dir): 20 nodes
 * register with their labels, zones, capacity and Ready condition; their Leases are renewed and
 * their status re-posted; a pod bound to one runs and is Ready with an IP from that node's CIDR;
 * deleting it (default grace) makes it go; a pod bound to another node is left alone; a second
 * run takes the Nodes over and, with --delete-nodes-on-exit, removes them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lease, Node, Pod } from "@skiff/api";
// Tests only: hollow nodes talk to the API server through the client, never import it.
import { startServer } from "@skiff/apiserver";
import { configFromKubeconfig, isNotFound, KubeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  contains,
  HollowNodes,
  type HollowNodesOptions,
  hollowNodesOptions,
  nodeLeaseNamespace,
  parseCidr,
  parseIPv4,
} from "../src/index.js";

const COUNT = 20;
const PREFIX = "hn-";
const NS = "default";

const dir = mkdtempSync(join(tmpdir(), "skiff-hollow-"));
const kubeconfig = join(dir, "admin.kubeconfig");
const server = await startServer(
  [
    ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
    ...["--write-kubeconfig", kubeconfig],
    // No controller manager here to make "default" ServiceAccounts: as kube's integration
    // tests, leave the ServiceAccount admission plugin out so pods need none.
    "--disable-admission-plugins=ServiceAccount",
  ],
  () => {},
);
const client = new KubeClient(configFromKubeconfig(kubeconfig));
const nodes = client.resource<Node>("v1", "nodes");
const leases = client.resource<Lease>("coordination.k8s.io/v1", "leases", nodeLeaseNamespace);
const pods = client.resource<Pod>("v1", "pods", NS);

const options = (o: Partial<HollowNodesOptions> = {}): HollowNodesOptions =>
  hollowNodesOptions({
    kubeconfig,
    count: COUNT,
    namePrefix: PREFIX,
    // Short periods so that renewals and re-posts happen within the test.
    leaseRenewIntervalMs: 500,
    nodeStatusReportFrequencyMs: 2000,
    ...o,
  });

let hollow = new HollowNodes(options(), { log: silentLogger });
t.teardown(async () => {
  await hollow.stop();
  await client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
await hollow.start();
await hollow.ready;

const hollowNodes = async () => (await nodes.list()).items.filter((n) => n.metadata.name.startsWith(PREFIX));
const condition = (n: Node, type: string) => n.status?.conditions?.find((c) => c.type === type);

const newPod = (name: string, nodeName: string, extra: Partial<Pod["spec"]> = {}): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: NS },
  spec: { nodeName, containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }], ...extra },
});

const runningPod = (name: string) =>
  waitFor(
    async () => {
      const p = await pods.get(name);
      const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
      return p.status?.phase === "Running" && ready ? p : undefined;
    },
    { what: `pod ${name} Running and Ready` },
  );

t.test("every hollow node registers with labels, zones, capacity and Ready", async (t) => {
  const list = await hollowNodes();
  t.equal(list.length, COUNT, `${COUNT} nodes`);
  const zones = new Map<string, number>();
  const cidrs = new Set<string>();
  for (const n of list) {
    const l = n.metadata.labels ?? {};
    t.equal(l["kubernetes.io/hostname"], n.metadata.name, `${n.metadata.name}: hostname label`);
    t.equal(l["kubernetes.io/os"], "linux");
    t.equal(l["kubernetes.io/arch"], "amd64");
    const zone = l["topology.kubernetes.io/zone"] ?? "";
    t.match(zone, /^zone-[012]$/, `${n.metadata.name}: zone label`);
    zones.set(zone, (zones.get(zone) ?? 0) + 1);
    t.same(n.status?.capacity, { cpu: "4", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" });
    t.same(n.status?.allocatable, n.status?.capacity, "allocatable is capacity");
    t.equal(condition(n, "Ready")?.status, "True", `${n.metadata.name}: Ready`);
    t.equal(condition(n, "Ready")?.reason, "KubeletReady");
    for (const c of ["MemoryPressure", "DiskPressure", "PIDPressure"])
      t.equal(condition(n, c)?.status, "False", c);
    t.equal(n.status?.nodeInfo?.kubeletVersion, "v1.32.0-skiff-hollow");
    t.match(n.status?.nodeInfo?.containerRuntimeVersion, /^fake:\/\//);
    const internal = n.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "";
    t.ok(parseIPv4(internal) !== undefined, "an InternalIP");
    t.same(n.status?.addresses?.find((a) => a.type === "Hostname")?.address, n.metadata.name);
    t.match(n.spec?.podCIDR, /^10\.\d+\.\d+\.0\/24$/, "a /24 pod CIDR");
    t.same(n.spec?.podCIDRs, [n.spec?.podCIDR]);
    cidrs.add(n.spec?.podCIDR ?? "");
  }
  t.equal(cidrs.size, COUNT, "pod CIDRs differ");
  t.same([...zones.entries()].sort(), [
    ["zone-0", 7],
    ["zone-1", 7],
    ["zone-2", 6],
  ]);
});

t.test("each node's Lease exists and is renewed; the status is re-posted", async (t) => {
  const node = await nodes.get(`${PREFIX}5`);
  const first = await leases.get(`${PREFIX}5`);
  t.equal(first.spec?.holderIdentity, `${PREFIX}5`);
  t.equal(first.spec?.leaseDurationSeconds, 40);
  t.same(first.metadata.ownerReferences?.[0], {
    apiVersion: "v1",
    kind: "Node",
    name: `${PREFIX}5`,
    uid: node.metadata.uid,
  });
  const all = (await leases.list()).items.filter((l) => l.metadata.name?.startsWith(PREFIX));
  t.equal(all.length, COUNT, "one Lease per node");
  const renewed = await waitFor(
    async () => {
      const l = await leases.get(`${PREFIX}5`);
      return Date.parse(l.spec?.renewTime ?? "") > Date.parse(first.spec?.renewTime ?? "") ? l : undefined;
    },
    { what: "a later renewTime" },
  );
  t.match(renewed.spec?.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, "renewTime is a MicroTime");
  const beat = condition(node, "Ready")?.lastHeartbeatTime ?? "";
  const reposted = await waitFor(
    async () => {
      const n = await nodes.get(`${PREFIX}5`);
      return Date.parse(condition(n, "Ready")?.lastHeartbeatTime ?? "") > Date.parse(beat) ? n : undefined;
    },
    { what: "a later lastHeartbeatTime" },
  );
  t.equal(condition(reposted, "Ready")?.status, "True", "still Ready");
  t.equal(
    condition(reposted, "Ready")?.lastTransitionTime,
    condition(node, "Ready")?.lastTransitionTime,
    "a heartbeat keeps the transition time",
  );
});

t.test("a Lease or a Node someone deletes comes back", async (t) => {
  const name = `${PREFIX}9`;
  const exists = (get: () => Promise<unknown>) => async () => {
    try {
      return (await get()) as Node | Lease;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const lease = await leases.get(name);
  await leases.delete(name);
  const again = await waitFor(
    exists(() => leases.get(name)),
    { what: "the Lease made again" },
  );
  t.not(again.metadata.uid, lease.metadata.uid, "a new Lease");
  const node = await nodes.get(name);
  await nodes.delete(name);
  const back = (await waitFor(
    exists(() => nodes.get(name)),
    { what: "the Node registered again" },
  )) as Node;
  t.not(back.metadata.uid, node.metadata.uid, "a new Node");
  t.equal(condition(back, "Ready")?.status, "True");
});

t.test("a pod bound to a hollow node runs and is Ready with an IP from its CIDR", async (t) => {
  // Bound elsewhere first: the one informer delivers events in order, so once the later pods run
  // the hollow nodes have seen this one too.
  await pods.create(newPod("elsewhere", "not-a-hollow-node"));
  const node = await nodes.get(`${PREFIX}3`);
  const cidr = parseCidr(node.spec?.podCIDR ?? "");
  const hostIP = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
  await pods.create(newPod("web-1", `${PREFIX}3`));
  await pods.create(
    newPod("web-2", `${PREFIX}3`, {
      initContainers: [{ name: "init", image: "busybox" }],
      containers: [
        { name: "a", image: "nginx" },
        { name: "b", image: "redis" },
      ],
    }),
  );
  const [one, two] = [await runningPod("web-1"), await runningPod("web-2")];
  for (const p of [one, two]) {
    const ip = p.status?.podIP ?? "";
    t.ok(contains(cidr, parseIPv4(ip) ?? -1), `${p.metadata.name}: ${ip} is inside ${node.spec?.podCIDR}`);
    t.same(p.status?.podIPs, [{ ip }]);
    t.equal(p.status?.hostIP, hostIP, "hostIP is the node's InternalIP");
    t.ok(p.status?.startTime, "a startTime");
    for (const type of [
      "PodReadyToStartContainers",
      "Initialized",
      "Ready",
      "ContainersReady",
      "PodScheduled",
    ])
      t.equal(
        p.status?.conditions?.find((c) => c.type === type)?.status,
        "True",
        `${p.metadata.name}: ${type}`,
      );
    for (const c of p.spec.containers) {
      const st = ((p.status?.containerStatuses ?? []) as Record<string, unknown>[]).find(
        (s) => s.name === c.name,
      );
      t.match(st, { ready: true, started: true, restartCount: 0, image: c.image, state: { running: {} } });
      t.match(st?.containerID, /^fake:\/\/[0-9a-f]{64}$/);
    }
  }
  t.not(one.status?.podIP, two.status?.podIP, "pod IPs on a node differ");
  t.match(two.status?.initContainerStatuses, [
    { name: "init", state: { terminated: { exitCode: 0, reason: "Completed" } } },
  ]);
  const other = await pods.get("elsewhere");
  t.equal(other.status?.phase, "Pending", "a pod bound to another node stays Pending");
  t.equal(other.status?.podIP, undefined, "and gets no IP");
  await pods.delete("elsewhere");
});

t.test("a pod bound later (pods/binding, as a scheduler binds) runs too", async (t) => {
  const name = "bound-later";
  await pods.create({ ...newPod(name, ""), spec: { containers: [{ name: "app", image: "pause" }] } });
  const res = await client.raw("POST", `/api/v1/namespaces/${NS}/pods/${name}/binding`, {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name },
    target: { apiVersion: "v1", kind: "Node", name: `${PREFIX}7` },
  });
  t.equal(res.status, 201, "bound");
  const p = await runningPod(name);
  const node = await nodes.get(`${PREFIX}7`);
  t.ok(
    contains(parseCidr(node.spec?.podCIDR ?? ""), parseIPv4(p.status?.podIP ?? "") ?? -1),
    "an IP of hn-7",
  );
  await pods.delete(name, { gracePeriodSeconds: 0 });
});

t.test("deleting a pod with the default grace period finishes", async (t) => {
  await runningPod("web-1");
  const marked = await pods.delete("web-1");
  t.ok(marked.metadata.deletionTimestamp, "the delete is graceful (30 s)");
  await waitFor(
    async () => {
      try {
        await pods.get("web-1");
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    },
    { what: "pod web-1 gone" },
  );
  t.pass("the hollow node deleted it with grace 0");
});

t.test("a pod annotated to exit after a while ends Succeeded or Failed with its exit code", async (t) => {
  const exiting = (name: string, code: string): Pod => {
    const p = newPod(name, `${PREFIX}4`, { restartPolicy: "Never" } as Partial<Pod["spec"]>);
    p.metadata.annotations = { "hollow.skiff.dev/exit-after-ms": "200", "hollow.skiff.dev/exit-code": code };
    return p;
  };
  await pods.create(exiting("exit-0", "0"));
  await pods.create(exiting("exit-3", "3"));
  const phase = (name: string, want: string) =>
    waitFor(
      async () => {
        const p = await pods.get(name);
        return p.status?.phase === want ? p : undefined;
      },
      { what: `pod ${name} ${want}` },
    );
  const ok = await phase("exit-0", "Succeeded");
  const failed = await phase("exit-3", "Failed");
  t.equal(terminated(ok)?.exitCode, 0);
  t.equal(terminated(failed)?.exitCode, 3);
  t.ok(
    Date.parse(terminated(failed)?.finishedAt ?? "") >= Date.parse(failed.status?.startTime ?? ""),
    "finished after it started",
  );
  await pods.delete("exit-0");
  await pods.delete("exit-3");
});

type Terminated = { exitCode?: number; finishedAt?: string };
const terminated = (p: Pod): Terminated | undefined =>
  ((p.status?.containerStatuses ?? []) as { state?: { terminated?: Terminated } }[])[0]?.state?.terminated;

t.test("a second run takes the Nodes over and deletes them on exit", async (t) => {
  const before = await nodes.get(`${PREFIX}3`);
  const web2 = await pods.get("web-2");
  await hollow.stop();
  t.equal((await hollowNodes()).length, COUNT, "Nodes stay after a stop by default");
  hollow = new HollowNodes(options({ deleteNodesOnExit: true }), { log: silentLogger });
  await hollow.start();
  await hollow.ready;
  const after = await nodes.get(`${PREFIX}3`);
  t.equal(after.metadata.uid, before.metadata.uid, "the same Node");
  t.equal(condition(after, "Ready")?.status, "True");
  // The running pod keeps its IP; a new pod on the node gets another.
  await pods.create(newPod("web-3", `${PREFIX}3`));
  const web3 = await runningPod("web-3");
  t.equal((await pods.get("web-2")).status?.podIP, web2.status?.podIP, "a running pod keeps its IP");
  t.not(web3.status?.podIP, web2.status?.podIP, "a new pod does not get a taken IP");
  for (const p of ["web-2", "web-3"]) await pods.delete(p, { gracePeriodSeconds: 0 });
  await hollow.stop();
  t.equal((await hollowNodes()).length, 0, "no hollow Node is left");
  const left = (await leases.list()).items.filter((l) => l.metadata.name?.startsWith(PREFIX));
  t.equal(left.length, 0, "no hollow Lease is left");
});
