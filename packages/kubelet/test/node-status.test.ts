/**
 * The node side of the kubelet against the fake clientset with a fake clock: registration and
 * re-registration, status written only on change or every report period, the pod CIDR callback,
 * Lease renewals with the Node as owner, static pod manifests and their mirror pods, and the
 * periodic loop they all run on.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lease, Node, NodeCondition, Pod } from "@skiff/api";
import { ApiError, FakeClient, FakeClock } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  configHashAnnotation,
  configMirrorAnnotation,
  type MachineInfo,
  MirrorPodManager,
  machineInfo,
  NodeLeaseController,
  NodeStatusManager,
  type NodeStatusManagerOptions,
  networkNotReadyMessage,
  nodeImages,
  StaticPodSource,
  staticPodFromManifest,
} from "../src/index.js";
import { Periodic } from "../src/node/periodic.js";

const GiB = 2 ** 30;
const machine: MachineInfo = {
  cpus: 4,
  memoryBytes: 8 * GiB,
  ephemeralStorageBytes: 100 * GiB,
  machineID: "m1",
  systemUUID: "u1",
  bootID: "b1",
  kernelVersion: "6.1.0",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  operatingSystem: "linux",
  architecture: "amd64",
};
const T0 = Date.parse("2026-12-07T20:00:00Z");

function manager(client: FakeClient, clock: FakeClock, extra: Partial<NodeStatusManagerOptions> = {}) {
  return new NodeStatusManager({
    client,
    nodeName: "n1",
    machine,
    nodeIP: () => "10.0.0.5",
    kubeletAddress: "127.0.0.1",
    kubeletPort: 10250,
    labels: { "node-role.kubernetes.io/worker": "" },
    runtimeVersion: "containerd://1.6.20",
    clock,
    ...extra,
  });
}

const cond = (n: Node, type: string) => n.status?.conditions?.find((c: NodeCondition) => c.type === type);
const statusWrites = (c: FakeClient) =>
  c.writes().filter((a) => a.resource === "nodes" && a.subresource === "status");

t.test("registration creates the Node with kube's labels, status and conditions", async (t) => {
  const clock = new FakeClock(T0);
  const client = new FakeClient({ now: () => new Date(clock.now()) });
  const images = nodeImages([
    { ref: "skiff.local/busybox:latest", id: "sha256:aa", size: 1000 },
    { ref: "skiff.local/pause:3.9", id: "sha256:bb", size: 5000 },
  ]);
  const m = manager(client, clock, { images: () => images });
  await m.syncNodeStatus();
  t.ok(m.isRegistered);
  const n = (await client.resource<Node>("v1", "nodes").get("n1")) as Node;
  t.same(n.metadata.labels, {
    "node-role.kubernetes.io/worker": "",
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": "n1",
    "kubernetes.io/os": "linux",
  });
  t.equal(n.metadata.annotations?.["skiff.dev/kubelet-address"], "127.0.0.1");
  t.same(n.status?.capacity, {
    cpu: "4",
    "ephemeral-storage": "100Gi",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    memory: "8Gi",
    pods: "110",
  });
  // Allocatable keeps back the hard thresholds: memory.available 100Mi, nodefs.available 10%.
  t.equal(n.status?.allocatable?.memory, "8092Mi");
  t.equal(n.status?.allocatable?.["ephemeral-storage"], "90Gi");
  t.same(n.status?.addresses, [
    { type: "InternalIP", address: "10.0.0.5" },
    { type: "Hostname", address: "n1" },
  ]);
  t.same(n.status?.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
  t.match(n.status?.nodeInfo, {
    machineID: "m1",
    bootID: "b1",
    containerRuntimeVersion: "containerd://1.6.20",
    kubeletVersion: "v1.32.4-skiff",
    operatingSystem: "linux",
    architecture: "amd64",
    osImage: "Debian GNU/Linux 12 (bookworm)",
  });
  t.same(
    n.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
    [
      ["MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
      ["DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
      ["PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"],
      ["Ready", "True", "KubeletReady", "kubelet is posting ready status"],
    ],
  );
  t.equal(cond(n, "Ready")?.lastHeartbeatTime, "2026-12-07T20:00:00Z");
  // Largest image first, named by digest then tag.
  t.same(n.status?.images?.[0], {
    names: ["skiff.local/pause@sha256:bb", "skiff.local/pause:3.9"],
    sizeBytes: 5000,
  });
});

t.test("re-registration takes over an existing Node: labels and annotation updated", async (t) => {
  const clock = new FakeClock(T0);
  const old: Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", labels: { "kubernetes.io/hostname": "other", custom: "kept" } },
    spec: { podCIDR: "10.244.3.0/24" },
    status: { capacity: { cpu: "1" } },
  };
  const client = new FakeClient({ objects: [old] });
  let cidr = "";
  const m = manager(client, clock, { onPodCIDR: (c) => (cidr = c) });
  await m.syncNodeStatus();
  const n = (await client.resource<Node>("v1", "nodes").get("n1")) as Node;
  t.equal(n.metadata.labels?.["kubernetes.io/hostname"], "n1");
  t.equal(n.metadata.labels?.custom, "kept", "labels the kubelet does not own stay");
  t.equal(n.metadata.annotations?.["skiff.dev/kubelet-address"], "127.0.0.1");
  t.equal(n.status?.capacity?.cpu, "4", "status brought up to date at once");
  t.equal(cidr, "10.244.3.0/24", "an existing pod CIDR is handed over");
  t.ok(
    client.writes().some((a) => a.verb === "create"),
    "create was tried first",
  );
});

t.test("status is written only when it changed or every report period", async (t) => {
  const clock = new FakeClock(T0);
  const client = new FakeClient();
  let memory = false;
  const m = manager(client, clock, { pressure: () => ({ memory, disk: false, pid: false }) });
  await m.syncNodeStatus();
  t.equal(statusWrites(client).length, 1, "the first update writes");
  clock.step(10_000);
  await m.syncNodeStatus();
  t.equal(statusWrites(client).length, 1, "nothing changed 10 s later: no write");
  memory = true;
  clock.step(10_000);
  await m.syncNodeStatus();
  t.equal(statusWrites(client).length, 2, "a condition changed: written");
  let n = (await client.resource<Node>("v1", "nodes").get("n1")) as Node;
  t.match(cond(n, "MemoryPressure"), {
    status: "True",
    reason: "KubeletHasInsufficientMemory",
    lastTransitionTime: "2026-12-07T20:00:20Z",
  });
  t.equal(cond(n, "Ready")?.lastTransitionTime, "2026-12-07T20:00:00Z", "Ready did not transition");
  clock.step(290_000);
  await m.syncNodeStatus();
  t.equal(statusWrites(client).length, 2, "4 min 50 s after the last write: still none");
  clock.step(10_000);
  await m.syncNodeStatus();
  t.equal(statusWrites(client).length, 3, "5 min after the last write: the heartbeat goes");
  n = (await client.resource<Node>("v1", "nodes").get("n1")) as Node;
  t.equal(cond(n, "Ready")?.lastHeartbeatTime, "2026-12-07T20:05:20Z");
  t.equal(cond(n, "MemoryPressure")?.lastTransitionTime, "2026-12-07T20:00:20Z");
});

t.test("NotReady until the network is ready, and while shutting down", async (t) => {
  const clock = new FakeClock(T0);
  const client = new FakeClient();
  let network = false;
  let shutdown: string[] = [];
  const events: string[] = [];
  const m = manager(client, clock, {
    networkReady: () => network,
    readyErrors: () => shutdown,
    onEvent: (reason) => events.push(reason),
  });
  await m.syncNodeStatus();
  let n = (await client.resource<Node>("v1", "nodes").get("n1")) as Node;
  t.match(cond(n, "Ready"), { status: "False", reason: "KubeletNotReady", message: networkNotReadyMessage });
  network = true;
  clock.step(10_000);
  await m.syncNodeStatus();
  n = (await client.resource<Node>("v1", "nodes").get("n1")) as Node;
  t.match(cond(n, "Ready"), {
    status: "True",
    reason: "KubeletReady",
    lastTransitionTime: "2026-12-07T20:00:10Z",
  });
  shutdown = ["node is shutting down"];
  clock.step(10_000);
  await m.syncNodeStatus();
  n = (await client.resource<Node>("v1", "nodes").get("n1")) as Node;
  t.match(cond(n, "Ready"), { status: "False", reason: "KubeletNotReady", message: "node is shutting down" });
  t.ok(events.includes("NodeReady") && events.includes("NodeNotReady"), `events ${events.join()}`);
});

t.test("the watch hands the pod CIDR to onPodCIDR once node IPAM sets it", async (t) => {
  const clock = new FakeClock(T0);
  const client = new FakeClient();
  const cidrs: string[] = [];
  const m = manager(client, clock, { onPodCIDR: (c) => cidrs.push(c) });
  m.start();
  t.teardown(() => m.stop());
  await waitFor(() => m.isRegistered, { what: "registration" });
  t.same(cidrs, []);
  await client.resource<Node>("v1", "nodes").patch("n1", { spec: { podCIDR: "10.244.1.0/24" } }, "merge");
  await waitFor(() => cidrs.length === 1, { what: "the pod CIDR callback" });
  t.same(cidrs, ["10.244.1.0/24"]);
  clock.step(10_000);
  await waitFor(() => statusWrites(client).length >= 1, { what: "a status sync" });
  t.same(cidrs, ["10.244.1.0/24"], "called once for one CIDR");
});

t.test(
  "the Lease is created owned by the Node, renewed every 10 s, and made again when deleted",
  async (t) => {
    const clock = new FakeClock(T0);
    const client = new FakeClient({
      objects: [{ apiVersion: "v1", kind: "Node", metadata: { name: "n1", uid: "node-uid" } } as Node],
    });
    const leases = client.resource<Lease>("coordination.k8s.io/v1", "leases", "kube-node-lease");
    const c = new NodeLeaseController({ client, nodeName: "n1", clock });
    await c.sync();
    let l = (await leases.get("n1")) as Lease;
    t.match(l.spec, {
      holderIdentity: "n1",
      leaseDurationSeconds: 40,
      renewTime: "2026-12-07T20:00:00.000000Z",
    });
    t.same(l.metadata.ownerReferences, [{ apiVersion: "v1", kind: "Node", name: "n1", uid: "node-uid" }]);
    t.equal(c.renewIntervalMs, 10_000);

    c.start();
    t.teardown(() => c.stop());
    await waitFor(() => clock.pendingTimers === 1, { what: "the next renewal to be scheduled" });
    clock.step(10_000);
    await waitFor(
      async () => ((await leases.get("n1")) as Lease).spec?.renewTime === "2026-12-07T20:00:10.000000Z",
      {
        what: "the renewal at 10 s",
      },
    );
    t.ok(
      client.writes().some((a) => a.resource === "leases" && a.verb === "update"),
      "renewals PUT the Lease",
    );
    await c.stop();

    // A deleted Lease is created again; failures back off (200 ms, 400 ms) and retry.
    const c2 = new NodeLeaseController({ client, nodeName: "n1", clock });
    await c2.sync();
    let failures = 2;
    client.prependReactor("create", "leases", () =>
      failures-- > 0 ? { handled: true, error: new ApiError(500, { message: "boom" }) } : undefined,
    );
    await leases.delete("n1");
    const t1 = clock.now();
    let done = false;
    const p = c2.sync().then(() => (done = true));
    while (!done) {
      await waitFor(() => done || clock.pendingTimers > 0, { what: "a backoff timer or the end" });
      if (!done) clock.step((clock.nextTimerAt() ?? clock.now()) - clock.now());
    }
    await p;
    t.equal(clock.now() - t1, 600, "two backoffs: 200 ms then 400 ms");
    l = (await leases.get("n1")) as Lease;
    t.equal(l.spec?.holderIdentity, "n1", "the Lease is back");

    // stop() during a backoff ends the wait instead of waiting on a timer it never fires.
    client.prependReactor("create", "leases", () => ({
      handled: true,
      error: new ApiError(500, { message: "down" }),
    }));
    await leases.delete("n1");
    const c3 = new NodeLeaseController({ client, nodeName: "n1", clock });
    c3.start();
    await waitFor(() => clock.pendingTimers > 0, { what: "a backoff timer" });
    await c3.stop();
    t.equal(clock.pendingTimers, 0, "the backoff timer is cleared");
  },
);

t.test("static pods: manifests parsed with kube's file-source defaults", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-static-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const yaml =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n";
  writeFileSync(join(dir, "web.yaml"), yaml);
  writeFileSync(
    join(dir, "db.json"),
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "db", namespace: "kube-system" },
      spec: { containers: [{ name: "d", image: "x" }] },
    }),
  );
  writeFileSync(join(dir, ".hidden.yaml"), yaml);
  writeFileSync(join(dir, "broken.yaml"), "kind: Service\n");
  const clock = new FakeClock(T0);
  const seen: Pod[][] = [];
  const src = new StaticPodSource({ path: dir, nodeName: "n1", clock, onChange: (p) => seen.push(p) });
  const pods = await src.listConfig();
  t.same(
    pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    ["kube-system/db-n1", "default/web-n1"],
  );
  const web = pods[1] as Pod;
  t.match(web.metadata.uid, /^[0-9a-f]{32}$/);
  t.equal(web.metadata.annotations?.[configHashAnnotation], web.metadata.uid);
  t.equal(web.metadata.annotations?.["kubernetes.io/config.source"], "file");
  t.equal(web.spec.nodeName, "n1");
  t.same(web.spec.tolerations, [{ operator: "Exists", effect: "NoExecute" }]);
  t.equal(
    staticPodFromManifest(yaml, join(dir, "web.yaml"), "n1", 0).metadata.uid,
    web.metadata.uid,
    "uid is stable",
  );
  t.not(
    staticPodFromManifest(yaml, join(dir, "web.yaml"), "n2", 0).metadata.uid,
    web.metadata.uid,
    "and per node",
  );
  t.equal(seen.length, 1);
  await src.listConfig();
  t.equal(seen.length, 1, "unchanged files: no change reported");
  writeFileSync(join(dir, "web.yaml"), yaml.replace("busybox", "busybox:2"));
  await src.listConfig();
  t.equal(seen.length, 2, "an edited manifest is a change");
  t.not(src.current()[1]?.metadata.uid, web.metadata.uid, "with a new uid");
});

t.test(
  "mirror pods: created owned by the Node, recreated when the static pod changes, orphans deleted",
  async (t) => {
    const client = new FakeClient({
      objects: [{ apiVersion: "v1", kind: "Node", metadata: { name: "n1", uid: "node-uid" } } as Node],
    });
    const pods = client.resource<Pod>("v1", "pods", "default");
    const mm = new MirrorPodManager({ client, nodeName: "n1" });
    const yaml = "metadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n";
    const v1 = staticPodFromManifest(yaml, "/m/web.yaml", "n1", T0);
    t.same(await mm.sync([v1]), { created: ["default/web-n1"], deleted: [] });
    let mirror = (await pods.get("web-n1")) as Pod;
    t.equal(mirror.metadata.annotations?.[configMirrorAnnotation], v1.metadata.uid);
    t.same(mirror.metadata.ownerReferences, [
      { apiVersion: "v1", kind: "Node", name: "n1", uid: "node-uid", controller: true },
    ]);
    t.not(mirror.metadata.uid, v1.metadata.uid, "the API gives the mirror its own uid");
    t.same(await mm.sync([v1]), { created: [], deleted: [] }, "in line: nothing to do");

    const v2 = staticPodFromManifest(yaml.replace("busybox", "busybox:2"), "/m/web.yaml", "n1", T0);
    t.same(await mm.sync([v2]), { created: ["default/web-n1"], deleted: ["default/web-n1"] });
    mirror = (await pods.get("web-n1")) as Pod;
    t.equal(mirror.metadata.annotations?.[configMirrorAnnotation], v2.metadata.uid);
    const del = client.writes().find((a) => a.verb === "delete");
    t.equal(del?.deleteOptions?.gracePeriodSeconds, 0);
    t.ok(del?.deleteOptions?.preconditions?.uid, "deleted with a uid precondition");

    t.same(await mm.sync([]), { created: [], deleted: ["default/web-n1"] }, "orphan deleted");
    await t.rejects(pods.get("web-n1"));
  },
);

t.test("machineInfo reads this machine; overrides win", async (t) => {
  const m = await machineInfo(tmpdir());
  t.ok(m.cpus > 0 && m.memoryBytes > 0 && m.ephemeralStorageBytes > 0, "sizes read");
  t.ok(m.kernelVersion.length > 0 && m.osImage.length > 0);
  t.equal(m.operatingSystem, "linux");
  const small = await machineInfo(tmpdir(), { cpus: 2, memoryBytes: GiB, ephemeralStorageBytes: 10 * GiB });
  t.match(small, { cpus: 2, memoryBytes: GiB, ephemeralStorageBytes: 10 * GiB });
});

t.test("the periodic loop: run, wait the period after it ends, stop waits for the run", async (t) => {
  const clock = new FakeClock(T0);
  const starts: number[] = [];
  const errors: unknown[] = [];
  let release: (() => void) | undefined;
  const p = new Periodic({
    clock,
    periodMs: 10_000,
    run: async () => {
      starts.push(clock.now() - T0);
      if (starts.length === 2) throw new Error("second run fails");
      if (starts.length === 3) await new Promise<void>((r) => (release = r));
    },
    onError: (e) => errors.push(e),
  });
  p.start();
  p.start();
  t.same(starts, [0], "the first run starts at once, once");
  await waitFor(() => clock.pendingTimers === 1, { what: "the first wait" });
  clock.step(9_999);
  t.equal(clock.pendingTimers, 1, "the wait is not over a millisecond early");
  clock.step(1);
  await waitFor(() => starts.length === 2, { what: "the second run" });
  t.same(starts, [0, 10_000]);
  await waitFor(() => clock.pendingTimers === 1, { what: "the wait after a failed run" });
  t.equal(errors.length, 1, "the failure went to onError and the loop goes on");
  clock.step(10_000);
  await waitFor(() => starts.length === 3, { what: "the third run" });
  t.same(starts, [0, 10_000, 20_000]);
  // The third run is in flight: no wait is set until it ends, and stop() waits for it.
  t.equal(clock.pendingTimers, 0, "no wait while a run is in flight");
  let stopped = false;
  const stopping = p.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  t.notOk(stopped, "stop() waits for the run in flight");
  t.ok(p.stopped && p.signal.aborted);
  release?.();
  await stopping;
  t.equal(clock.pendingTimers, 0, "no wait after stop");
  t.equal(starts.length, 3, "no run after stop");
});
