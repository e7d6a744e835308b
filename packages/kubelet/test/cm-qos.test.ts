/** Unit tests: QoS classes (v1qos), pod-level resource configs, mountinfo parsing. */
import type { Container, Pod } from "@skiff/api";
import t from "tap";
import { sharesToWeight } from "../src/cm/cgroupfs.js";
import { parseMountinfo } from "../src/cm/hierarchy.js";
import { computePodQOS, getPodQOS } from "../src/cm/qos.js";
import {
  milliCPUToQuota,
  milliCPUToShares,
  podResourceTotals,
  resourceConfigForPod,
} from "../src/cm/resources.js";

function c(
  name: string,
  requests?: Record<string, string>,
  limits?: Record<string, string>,
  extra = {},
): Container {
  return { name, image: "busybox", resources: { requests, limits }, ...extra };
}
function pod(containers: Container[], initContainers: Container[] = [], status?: object): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: "0b7c3d2e-1111-4222-8333-444455556666" },
    spec: { containers, initContainers },
    ...(status === undefined ? {} : { status }),
  } as Pod;
}

t.test("QoS classes as v1qos computes them", async (t) => {
  t.equal(computePodQOS(pod([c("a")])), "BestEffort");
  t.equal(computePodQOS(pod([c("a", { cpu: "0" })])), "BestEffort", "zero requests do not count");
  t.equal(
    computePodQOS(pod([c("a", { cpu: "100m", memory: "64Mi" }, { cpu: "100m", memory: "64Mi" })])),
    "Guaranteed",
  );
  t.equal(
    computePodQOS(pod([c("a", undefined, { cpu: "1", memory: "1Gi" })])),
    "Guaranteed",
    "requests default to limits",
  );
  t.equal(
    computePodQOS(pod([c("a", { cpu: "0.1" }, { cpu: "100m", memory: "64Mi" })])),
    "Guaranteed",
    "equal in value",
  );
  t.equal(
    computePodQOS(pod([c("a", { cpu: "50m", memory: "64Mi" }, { cpu: "100m", memory: "64Mi" })])),
    "Burstable",
  );
  t.equal(computePodQOS(pod([c("a", undefined, { cpu: "100m" })])), "Burstable", "a memory limit is missing");
  t.equal(computePodQOS(pod([c("a", { memory: "10Mi" })])), "Burstable");
  const g = c("g", undefined, { cpu: "1", memory: "1Gi" });
  t.equal(computePodQOS(pod([g, c("b")])), "Burstable", "one container without limits");
  t.equal(computePodQOS(pod([g], [c("init")])), "Burstable", "init containers count");
  t.equal(
    computePodQOS(pod([c("a")], [c("init", { cpu: "10m" })])),
    "Burstable",
    "an init container's request alone",
  );
  t.equal(computePodQOS(pod([g], [c("init", undefined, { cpu: "1", memory: "1Gi" })])), "Guaranteed");
  t.equal(
    computePodQOS(pod([c("a", undefined, { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "1" })])),
    "Guaranteed",
    "other resources ignored",
  );
  t.equal(getPodQOS(pod([c("a")], [], { qosClass: "Burstable" })), "Burstable", "status.qosClass wins");
  t.equal(getPodQOS(pod([c("a")], [], { phase: "Pending" })), "BestEffort");
});

t.test("shares and quota conversions", async (t) => {
  t.equal(milliCPUToShares(0), 2);
  t.equal(milliCPUToShares(1), 2);
  t.equal(milliCPUToShares(100), 102);
  t.equal(milliCPUToShares(1000), 1024);
  t.equal(milliCPUToShares(1_000_000), 262144);
  t.equal(milliCPUToQuota(0, 100000), 0);
  t.equal(milliCPUToQuota(5, 100000), 1000, "at least the minimum quota");
  t.equal(milliCPUToQuota(250, 100000), 25000);
  t.equal(sharesToWeight(2), 1);
  t.equal(sharesToWeight(262144), 10000);
  t.equal(sharesToWeight(1024), 39);
});

t.test("pod requests and limits: sum of containers, at least the largest init, sidecars added", async (t) => {
  const p = pod(
    [c("a", { cpu: "100m", memory: "10Mi" }), c("b", { cpu: "200m" })],
    [
      c("big-init", { cpu: "1", memory: "5Mi" }),
      c("sidecar", { cpu: "50m" }, undefined, { restartPolicy: "Always" }),
    ],
  );
  const req = podResourceTotals(p, "requests");
  t.equal(req.get("cpu")?.toFixed(3), "1.000", "the init container's 1 CPU dominates 350m");
  t.equal(req.get("memory"), 10 * 2 ** 20);
  const withOverhead = { ...p, spec: { ...p.spec, overhead: { cpu: "10m" } } } as Pod;
  t.equal(podResourceTotals(withOverhead, "requests").get("cpu")?.toFixed(3), "1.010");
  t.notOk(podResourceTotals(withOverhead, "limits").has("cpu"), "overhead adds no limit where none is set");
});

t.test("resource configs per QoS class", async (t) => {
  t.same(resourceConfigForPod(pod([c("a")])), { cpuShares: 2 }, "BestEffort: the minimum shares only");
  t.same(
    resourceConfigForPod(
      pod([
        c("a", undefined, { cpu: "500m", memory: "64Mi" }),
        c("b", undefined, { cpu: "250m", memory: "32Mi" }),
      ]),
    ),
    { cpuShares: 768, cpuQuota: 75000, cpuPeriod: 100000, memory: 96 * 2 ** 20 },
    "Guaranteed: shares, quota and the summed memory limit",
  );
  t.same(
    resourceConfigForPod(
      pod([c("a", { cpu: "100m" }, { memory: "64Mi" }), c("b", { cpu: "100m" }, { memory: "32Mi" })]),
    ),
    { cpuShares: 204, memory: 96 * 2 ** 20 },
    "Burstable with memory limits everywhere: memory limit, no quota",
  );
  t.same(
    resourceConfigForPod(
      pod([c("a", { cpu: "100m" }, { cpu: "200m", memory: "64Mi" }), c("b", { memory: "1Mi" })]),
    ),
    { cpuShares: 102 },
    "Burstable with a container lacking limits: shares only",
  );
});

t.test("mountinfo: v1 hierarchies, hybrid and v2", async (t) => {
  const v1 = [
    "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755",
    "31 30 0:27 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate",
    "32 30 0:28 / /sys/fs/cgroup/systemd rw,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd",
    "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct",
    "34 30 0:30 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory",
  ].join("\n");
  const l = parseMountinfo(v1);
  t.equal(l.version, 1);
  if (l.version === 1) {
    t.same(
      l.mounts.map((m) => [m.mountPoint, m.controllers]),
      [
        ["/sys/fs/cgroup/systemd", ["name=systemd"]],
        ["/sys/fs/cgroup/cpu,cpuacct", ["cpu", "cpuacct"]],
        ["/sys/fs/cgroup/memory", ["memory"]],
      ],
    );
    t.equal(l.hybrid, "/sys/fs/cgroup/unified");
  }
  t.same(parseMountinfo("29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"), {
    version: 2,
    mountPoint: "/sys/fs/cgroup",
  });
});
