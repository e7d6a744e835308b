/**
 * Node-pressure handling with a fake clock and injected signals: `--eviction-hard` parsing, pod
 * ranking and kube's eviction message, pressure conditions held for the transition period,
 * image GC thresholds and order, and graceful shutdown killing regular pods before critical ones.
 */
import type { Pod } from "@skiff/api";
import { FakeClock } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  EvictionManager,
  type FsStats,
  ImageGCManager,
  type ImageRef,
  nodeShutdownMessage,
  parseEvictionHard,
  ShutdownManager,
  type SignalObservations,
} from "../src/index.js";

const Mi = 2 ** 20;
const Gi = 2 ** 30;

function pod(name: string, o: { priority?: number; memoryRequest?: string; grace?: number } = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}` },
    spec: {
      ...(o.priority === undefined ? {} : { priority: o.priority }),
      ...(o.grace === undefined ? {} : { terminationGracePeriodSeconds: o.grace }),
      containers: [
        {
          name: "c",
          image: "busybox",
          ...(o.memoryRequest === undefined ? {} : { resources: { requests: { memory: o.memoryRequest } } }),
        },
      ],
    },
  };
}

t.test("--eviction-hard parsing as kube's", async (t) => {
  t.same(parseEvictionHard("memory.available<100Mi,nodefs.available<10%"), [
    { signal: "memory.available", operator: "LessThan", quantity: 100 * Mi, quantityText: "100Mi" },
    { signal: "nodefs.available", operator: "LessThan", percentage: 0.1 },
  ]);
  t.same(parseEvictionHard("imagefs.available<0%"), [], "a zero threshold disables its signal");
  t.throws(() => parseEvictionHard("memory.available>1Gi"), /invalid operator/);
  t.throws(() => parseEvictionHard("cpu.available<1"), /unsupported eviction signal cpu.available/);
  t.throws(() => parseEvictionHard("nodefs.available<110%"), /must be <= 100%/);
  t.throws(() => parseEvictionHard("memory.available<1Gi,memory.available<2Gi"), /duplicate/);
});

t.test("memory pressure: ranking, kube's message, condition held for the transition period", async (t) => {
  const clock = new FakeClock(0);
  let available = 50 * Mi;
  const usage: Record<string, Record<string, number>> = {
    "uid-small-over": { c: 60 * Mi },
    "uid-big-over": { c: 200 * Mi },
    "uid-under": { c: 300 * Mi },
    "uid-critical": { c: 900 * Mi },
    "uid-low-prio-under": { c: 10 * Mi },
  };
  const pods = [
    pod("under", { memoryRequest: "500Mi" }),
    pod("small-over"),
    pod("big-over"),
    pod("critical", { priority: 2_000_000_000 }),
    pod("low-prio-under", { priority: -10, memoryRequest: "1Gi" }),
  ];
  const evicted: { name: string; message: string; grace: number }[] = [];
  const m = new EvictionManager({
    clock,
    observe: async (): Promise<SignalObservations> => ({
      "memory.available": { available, capacity: 8 * Gi },
      "nodefs.available": { available: 50 * Gi, capacity: 100 * Gi },
    }),
    activePods: () => pods.filter((p) => !evicted.some((e) => e.name === p.metadata.name)),
    podMemoryUsage: (uid) => usage[uid],
    evictPod: (p, message, grace) => {
      evicted.push({ name: p.metadata.name, message, grace });
    },
  });
  await m.synchronize();
  t.same(m.pressure(), { memory: true, disk: false, pid: false });
  t.same(evicted[0], {
    name: "big-over",
    message:
      "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container c was using 200Mi, request is 0, has larger consumption of memory. ",
    grace: 1,
  });
  t.same(
    m.admit(pod("besteffort")),
    { admit: false, reason: "Evicted", message: "The node had condition: [MemoryPressure]. " },
    "BestEffort pods are refused under memory pressure",
  );
  t.same(m.admit(pod("burstable", { memoryRequest: "1Mi" })), { admit: true });

  for (const _ of [1, 2, 3]) {
    clock.step(10_000);
    await m.synchronize();
  }
  t.same(
    evicted.map((e) => e.name),
    ["big-over", "small-over", "low-prio-under", "under"],
    "over requests first (larger excess first), then lower priority; never the critical pod",
  );
  t.match(
    evicted[3]?.message,
    /Threshold quantity: 100Mi, available: 50Mi\. $/,
    "no container sentence under request",
  );

  // Pressure relieved: the condition stays for 5 minutes after it was last observed.
  available = 2 * Gi;
  clock.step(10_000);
  t.same(await m.synchronize(), []);
  t.equal(m.pressure().memory, true, "still under pressure within the transition period");
  clock.step(280_000);
  await m.synchronize();
  t.equal(m.pressure().memory, true, "4 min 50 s after the last observation");
  clock.step(10_000);
  await m.synchronize();
  t.equal(m.pressure().memory, false, "5 min after: relieved");
  t.same(m.admit(pod("besteffort")), { admit: true });
});

t.test("disk pressure asks the image GC first and evicts only if that did not help", async (t) => {
  const clock = new FakeClock(0);
  let nodefsAvailable = 5 * Gi;
  let reclaimed = 0;
  const evicted: string[] = [];
  const m = new EvictionManager({
    clock,
    observe: async () => ({
      "memory.available": { available: 4 * Gi, capacity: 8 * Gi },
      "nodefs.available": { available: nodefsAvailable, capacity: 100 * Gi },
    }),
    activePods: () => [pod("a"), pod("b", { priority: -1 })],
    podDiskUsage: () => 0,
    reclaimDisk: async () => {
      reclaimed++;
      nodefsAvailable += 6 * Gi;
    },
    evictPod: (p) => {
      evicted.push(p.metadata.name);
    },
  });
  await m.synchronize();
  t.equal(reclaimed, 1);
  t.same(evicted, [], "the image GC freed enough");
  t.equal(m.pressure().disk, true, "DiskPressure was observed");
  nodefsAvailable = 1 * Gi;
  await m.synchronize();
  t.same(evicted, ["b"], "still short: the lower-priority pod goes");
  t.same(m.admit(pod("x", { memoryRequest: "1Mi" })).admit, false, "no pods admitted under disk pressure");
});

t.test("image GC: above 85% frees unused images, least recently used first, down to 80%", async (t) => {
  const clock = new FakeClock(0);
  let images: ImageRef[] = [
    { ref: "r/old:1", id: "sha256:old", size: 6 * Gi },
    { ref: "r/used:1", id: "sha256:used", size: 20 * Gi },
    { ref: "r/mid:1", id: "sha256:mid", size: 6 * Gi },
  ];
  const removed: string[] = [];
  let available = 50 * Gi;
  const gc = new ImageGCManager({
    clock,
    runtime: {
      listImages: async () => images,
      removeImage: async (ref) => {
        removed.push(ref);
        const img = images.find((i) => i.ref === ref);
        images = images.filter((i) => i.ref !== ref);
        available += img?.size ?? 0;
      },
    },
    usedImages: () => ["r/used:1"],
    imageFs: async (): Promise<FsStats> => ({
      capacityBytes: 100 * Gi,
      availableBytes: available,
      inodes: 1,
      inodesFree: 1,
    }),
  });
  t.equal(await gc.garbageCollect(), 0, "50% used: nothing to do (images detected)");
  clock.step(60_000);
  images.push({ ref: "r/new:1", id: "sha256:new", size: 6 * Gi });
  clock.step(70_000);
  available = 10 * Gi; // 90% used: free 10 GiB to reach 80%
  const freed = await gc.garbageCollect();
  t.same(removed, ["r/old:1", "r/mid:1"], "oldest unused first; the used one and the new one (< 2 min) stay");
  t.equal(freed, 12 * Gi);
  images.push({ ref: "r/young:1", id: "sha256:young", size: Gi });
  available = 5 * Gi;
  await t.rejects(gc.garbageCollect(), /Failed to garbage collect required amount of images/);
  t.same(removed, ["r/old:1", "r/mid:1"], "nothing old enough was left to remove");
  clock.step(120_000);
  t.equal(await gc.deleteUnusedImages(), 7 * Gi, "deleteUnusedImages removes every unused image old enough");
  t.same(
    images.map((i) => i.ref),
    ["r/used:1"],
  );
});

t.test("graceful shutdown: NotReady, regular pods then critical pods within their budgets", async (t) => {
  const clock = new FakeClock(0);
  const killed: { name: string; grace: number; at: number; reason: string; message: string }[] = [];
  const stuck = new Set(["hangs"]);
  const m = new ShutdownManager({
    clock,
    shutdownGracePeriodSeconds: 30,
    shutdownGracePeriodCriticalPodsSeconds: 10,
    activePods: () => [pod("critical", { priority: 2_000_000_000 }), pod("web", { grace: 5 }), pod("hangs")],
    killPod: (p, grace, reason, message) => {
      killed.push({ name: p.metadata.name, grace, at: clock.now(), reason, message });
      return stuck.has(p.metadata.name) ? new Promise(() => {}) : Promise.resolve();
    },
  });
  t.same(m.readyErrors(), []);
  let done = false;
  const p = m.shutdown().then(() => (done = true));
  t.same(m.readyErrors(), ["node is shutting down"]);
  t.same(m.admit(pod("new")), {
    admit: false,
    reason: "NodeShutdown",
    message: "Pod was rejected as the node is shutting down.",
  });
  await waitFor(() => killed.length === 2 && clock.pendingTimers === 1, {
    what: "the regular group's kills",
  });
  t.same(
    killed.map((k) => [k.name, k.grace]),
    [
      ["web", 5],
      ["hangs", 20],
    ],
    "a pod's shorter grace period wins",
  );
  t.equal(killed[0]?.reason, "Terminated");
  t.equal(killed[0]?.message, nodeShutdownMessage);
  clock.step(19_999);
  await new Promise((r) => setImmediate(r));
  t.equal(killed.length, 2, "the critical pod waits for the regular group's budget");
  clock.step(1);
  await waitFor(() => killed.length === 3, { what: "the critical group's kill" });
  t.same(killed[2], {
    name: "critical",
    grace: 10,
    at: 20_000,
    reason: "Terminated",
    message: nodeShutdownMessage,
  });
  await p;
  t.ok(done);
  t.equal(m.shutdown(), m.shutdown(), "idempotent");
});
