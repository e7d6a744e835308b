/**
 * Unit tests of the agent's own glue: the kubelet's admission (kube's GeneralPredicates reasons
 * and messages for pods beyond the node), and the shared container listing (one ctr listing
 * serves concurrent callers; a change or a runtime event makes the next call list again).
 */
import type { Pod } from "@skiff/api";
import t from "tap";
import { admitPod, podRequests } from "../src/admission.js";
import { CachedRuntime } from "../src/runtime/cached.js";
import type { ContainerRuntime, ContainerStatus, RuntimeEvent } from "../src/runtime/runtime.js";

const pod = (name: string, requests: Record<string, string> = {}, init: Record<string, string>[] = []): Pod =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}` },
    spec: {
      containers: [{ name: "c", image: "i", resources: { requests } }],
      initContainers: init.map((r, i) => ({ name: `i${i}`, image: "i", resources: { requests: r } })),
    },
  }) as Pod;

t.test("admission: requests against allocatable and max-pods, with kube's reasons", async (t) => {
  const allocatable = { cpu: "2", memory: "1Gi", pods: "110" };
  t.same(
    podRequests(pod("a", { cpu: "500m" }, [{ cpu: "1" }])),
    { cpu: 1 },
    "an init container's request can dominate",
  );
  t.equal(admitPod(pod("a", { cpu: "1" }), [], { allocatable, maxPods: 110 }), undefined, "fits");
  const cpu = admitPod(pod("big", { cpu: "3" }), [pod("x", { cpu: "500m" })], { allocatable, maxPods: 110 });
  t.equal(cpu?.reason, "OutOfcpu");
  t.equal(
    cpu?.message,
    "Pod was rejected: Node didn't have enough resource: cpu, requested: 3000, used: 500, capacity: 2000",
  );
  t.equal(cpu?.status.phase, "Failed");
  const mem = admitPod(pod("m", { memory: "2Gi" }), [], { allocatable, maxPods: 110 });
  t.equal(mem?.reason, "OutOfmemory");
  t.match(mem?.message, /memory, requested: 2147483648, used: 0, capacity: 1073741824$/);
  const pods = admitPod(pod("p"), [pod("x"), pod("y")], { allocatable, maxPods: 2 });
  t.equal(pods?.reason, "OutOfpods");
  t.equal(
    pods?.message,
    "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2",
  );
  t.equal(
    admitPod(pod("a"), [pod("a")], { allocatable, maxPods: 1 }),
    undefined,
    "the pod itself does not count against itself",
  );
  const evicted = admitPod(pod("e"), [], {
    allocatable,
    maxPods: 110,
    extra: { reason: "Evicted", message: "The node had condition: [MemoryPressure]. " },
  });
  t.equal(evicted?.reason, "Evicted", "the eviction manager's refusal wins");
});

/** A runtime that counts its listings and lets the test fire events. */
function countingRuntime() {
  let listings = 0;
  let release: (() => void) | undefined;
  const listeners = new Set<(e: RuntimeEvent) => void>();
  const containers: ContainerStatus[] = [{ id: "a", image: "i", labels: {}, state: "running", createdAt: 1 }];
  const rt = {
    async listContainers() {
      listings++;
      await new Promise<void>((r) => {
        release = r;
      });
      return containers.map((c) => ({ ...c }));
    },
    onEvent(l: (e: RuntimeEvent) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async createContainer() {},
    async close() {},
  } as unknown as ContainerRuntime;
  return {
    rt,
    listings: () => listings,
    release: () => release?.(),
    emit: (e: RuntimeEvent) => {
      for (const l of listeners) l(e);
    },
  };
}

t.test("the cached runtime shares listings until something changes", async (t) => {
  const f = countingRuntime();
  let now = 1_000;
  const cached = new CachedRuntime(f.rt, 1_000, () => now);
  const p1 = cached.listContainers();
  const p2 = cached.listContainers();
  t.equal(f.listings(), 1, "concurrent callers share one listing");
  f.release();
  t.same(
    (await p1).map((c) => c.id),
    ["a"],
  );
  t.equal(await p2, await p1);
  await cached.listContainers();
  t.equal(f.listings(), 1, "a fresh listing serves again");
  f.emit({ type: "exit", id: "a", exitCode: 0, at: now });
  const p3 = cached.listContainers();
  t.equal(f.listings(), 2, "a runtime event makes it stale");
  f.release();
  await p3;
  now += 1_500;
  const p4 = cached.listContainers();
  t.equal(f.listings(), 3, "and so does age");
  f.release();
  await p4;
  const created = cached.createContainer({} as never);
  const p5 = cached.listContainers();
  t.equal(f.listings(), 4, "a change of our own too, even while in flight");
  f.release();
  await Promise.all([created, p5]);
  // Our create finished after p5 began, so the next call lists again.
  const status = cached.containerStatus("a");
  t.equal(f.listings(), 5, "a listing begun before a change is not reused after it");
  f.release();
  t.same((await status)?.id, "a", "containerStatus reads the shared listing");
  await cached.close();
});
