/**
 * NodeResourcesFit, modelled on kube's noderesources fit_test.go (TestEnoughRequests and the
 * scoring strategy tests) and balanced_allocation_test.go. Quantities follow kube's tables: "cpu"
 * values are cores, "memory" bytes.
 */
import type { Container, Pod, ResourceList } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import type {
  EnqueueExtensions,
  FilterPlugin,
  PreFilterPlugin,
  ScorePlugin,
} from "../../src/framework/interface.js";
import { nonZeroRequests, podRequests } from "../../src/framework/resource.js";
import {
  type Fit,
  isSchedulableAfterNodeChange,
  isSchedulableAfterPodEvent,
  Name,
  New,
} from "../../src/plugins/noderesources/index.js";
import { New as NewBalanced } from "../../src/plugins/noderesources-balanced/index.js";
import { fakeHandle, makePod, nodeInfo } from "../fixtures.js";
import { describe, nodeWith, podWithRequests, runFilter, runScore, success, unschedulable } from "./util.js";

const handle = fakeHandle([]);
const fit = (args?: Record<string, unknown>) => New(args, handle) as Fit;

const extendedA = "example.com/aaa";
const extendedB = "example.com/bbb";
const kubernetesIOResourceA = "kubernetes.io/something";
const hugePageA = "hugepages-2Mi";

/** kube's makeAllocatableResources(10, 20, 32, 5, 20, 5): cpu in millicores, the rest in units. */
const node = nodeWith("node", {
  cpu: "10m",
  memory: "20",
  pods: "32",
  [extendedA]: "5",
  "ephemeral-storage": "20",
  [hugePageA]: "5",
});

const c = (requests: ResourceList, extra: Partial<Container> = {}): Container => ({
  name: `c-${Object.keys(requests).join("-")}`,
  image: "busybox",
  resources: { requests },
  ...extra,
});
const pod = (containers: ResourceList[], spec: Partial<Pod["spec"]> = {}) =>
  makePod("p", { spec: { containers: containers.map((r) => c(r)), ...spec } });
const existing = (r: ResourceList) => makePod(`e-${JSON.stringify(r)}`, { nodeName: "node", requests: r });

t.test("Filter: enough requests (kube's TestEnoughRequests)", async (t) => {
  const cases: {
    name: string;
    pod: Pod;
    existing: ResourceList;
    args?: Record<string, unknown>;
    want: { code: string; reasons: readonly string[] };
  }[] = [
    {
      name: "no resources requested always fits",
      pod: pod([]),
      existing: { cpu: "10m", memory: "20" },
      want: success,
    },
    {
      name: "too many resources fails",
      pod: pod([{ cpu: "1m", memory: "1" }]),
      existing: { cpu: "10m", memory: "20" },
      want: unschedulable("Insufficient cpu", "Insufficient memory"),
    },
    {
      name: "too many resources fails due to init container cpu",
      pod: pod([{ cpu: "1m", memory: "1" }], { initContainers: [c({ cpu: "3m", memory: "1" })] }),
      existing: { cpu: "8m", memory: "19" },
      want: unschedulable("Insufficient cpu"),
    },
    {
      name: "too many resources fails due to highest init container cpu",
      pod: pod([{ cpu: "1m", memory: "1" }], {
        initContainers: [c({ cpu: "3m", memory: "1" }), c({ cpu: "2m", memory: "1" })],
      }),
      existing: { cpu: "8m", memory: "19" },
      want: unschedulable("Insufficient cpu"),
    },
    {
      name: "init container fits because it's the max, not sum, of containers and init containers",
      pod: pod([{ cpu: "1m", memory: "1" }], { initContainers: [c({ cpu: "1m", memory: "1" })] }),
      existing: { cpu: "9m", memory: "19" },
      want: success,
    },
    {
      name: "a restartable (sidecar) init container adds to the containers",
      pod: pod([{ cpu: "1m", memory: "1" }], {
        initContainers: [c({ cpu: "1m", memory: "1" }, { restartPolicy: "Always" })],
      }),
      existing: { cpu: "9m", memory: "5" },
      want: unschedulable("Insufficient cpu"),
    },
    {
      name: "both resources fit",
      pod: pod([{ cpu: "1m", memory: "1" }]),
      existing: { cpu: "5m", memory: "5" },
      want: success,
    },
    {
      name: "one resource memory fits",
      pod: pod([{ cpu: "2m", memory: "1" }]),
      existing: { cpu: "9m", memory: "5" },
      want: unschedulable("Insufficient cpu"),
    },
    {
      name: "one resource cpu fits",
      pod: pod([{ cpu: "1m", memory: "2" }]),
      existing: { cpu: "5m", memory: "19" },
      want: unschedulable("Insufficient memory"),
    },
    {
      name: "equal edge case",
      pod: pod([{ cpu: "5m", memory: "1" }]),
      existing: { cpu: "5m", memory: "19" },
      want: success,
    },
    {
      name: "extended resource fits",
      pod: pod([{ [extendedA]: "1" }]),
      existing: {},
      want: success,
    },
    {
      name: "extended resource capacity enforced",
      pod: pod([{ [extendedA]: "10" }]),
      existing: {},
      want: unschedulable(`Insufficient ${extendedA}`),
    },
    {
      name: "extended resource allocatable enforced with existing use",
      pod: pod([{ [extendedA]: "1" }]),
      existing: { [extendedA]: "5" },
      want: unschedulable(`Insufficient ${extendedA}`),
    },
    {
      name: "extended resource allocatable enforced for unknown resource",
      pod: pod([{ [extendedB]: "1" }]),
      existing: {},
      want: unschedulable(`Insufficient ${extendedB}`),
    },
    {
      name: "extended resource allocatable admits for unknown resource when ignored",
      pod: pod([{ [extendedB]: "1" }]),
      existing: {},
      args: { ignoredResources: [extendedB] },
      want: success,
    },
    {
      name: "extended resource allocatable admits when its group is ignored",
      pod: pod([{ [extendedB]: "1" }]),
      existing: {},
      args: { ignoredResourceGroups: ["example.com"] },
      want: success,
    },
    {
      name: "kubernetes.io resource capacity enforced (cannot be ignored)",
      pod: pod([{ [kubernetesIOResourceA]: "10" }]),
      existing: {},
      args: { ignoredResources: [kubernetesIOResourceA] },
      want: unschedulable(`Insufficient ${kubernetesIOResourceA}`),
    },
    {
      name: "hugepages resource allocatable enforced with existing use",
      pod: pod([{ [hugePageA]: "4" }]),
      existing: { [hugePageA]: "2" },
      want: unschedulable(`Insufficient ${hugePageA}`),
    },
    {
      name: "skip checking a resource request of quantity zero",
      pod: pod([{ cpu: "1m", memory: "1", [extendedB]: "0" }]),
      existing: {},
      want: success,
    },
    {
      name: "resources + pod overhead fits",
      pod: pod([{ cpu: "1m", memory: "1" }], { overhead: { cpu: "3m", memory: "13" } }),
      existing: { cpu: "5m", memory: "5" },
      want: success,
    },
    {
      name: "requests + overhead does not fit for memory",
      pod: pod([{ cpu: "1m", memory: "1" }], { overhead: { cpu: "1m", memory: "15" } }),
      existing: { cpu: "5m", memory: "5" },
      want: unschedulable("Insufficient memory"),
    },
    {
      name: "ephemeral-storage enforced",
      pod: pod([{ "ephemeral-storage": "25" }]),
      existing: {},
      want: unschedulable("Insufficient ephemeral-storage"),
    },
    {
      name: "every reason in kube's order",
      pod: pod([{ cpu: "20m", memory: "30", "ephemeral-storage": "25", [extendedA]: "6" }]),
      existing: {},
      want: unschedulable(
        "Insufficient cpu",
        "Insufficient memory",
        "Insufficient ephemeral-storage",
        `Insufficient ${extendedA}`,
      ),
    },
  ];
  for (const tc of cases) {
    const ni = nodeInfo(node, existing(tc.existing));
    const { preFilter, statuses } = runFilter(fit(tc.args), tc.pod, [ni]);
    t.same(describe(preFilter?.status), success, `${tc.name}: PreFilter`);
    t.same(describe(statuses.get("node")), tc.want, tc.name);
  }
});

t.test("Filter: Too many pods", async (t) => {
  const small = nodeWith("node", { cpu: "10m", memory: "20", pods: "1" });
  const ni = nodeInfo(small, makePod("there", { nodeName: "node", requests: { cpu: "1m", memory: "1" } }));
  const { statuses } = runFilter(fit(), pod([{ cpu: "1m", memory: "1" }]), [ni]);
  t.same(describe(statuses.get("node")), unschedulable("Too many pods"));
  // With nothing requested only the pod count is checked.
  const { statuses: none } = runFilter(fit(), pod([]), [nodeInfo(small, makePod("x", { nodeName: "node" }))]);
  t.same(describe(none.get("node")), unschedulable("Too many pods"));
  const full = runFilter(fit(), pod([{ cpu: "20m", memory: "1" }]), [ni]).statuses.get("node");
  t.same(describe(full), unschedulable("Too many pods", "Insufficient cpu"), "pods first, then resources");
});

t.test("Filter without PreFilter is an Error", async (t) => {
  const s = (fit() as FilterPlugin).filter(new CycleState(), pod([]), nodeInfo(node));
  t.equal(describe(s).code, "Error");
  t.match(s?.message(), /PreFilterNodeResourcesFit/);
});

/** kube's scoring tables: nodes of "cpu" cores and "memory" bytes (allocatable = capacity). */
const n = (name: string, cpu: string, memory: string, extra: ResourceList = {}) =>
  nodeWith(name, { cpu, memory, ...extra });
const on = (nodeName: string, ...reqs: ResourceList[]) =>
  podWithRequests(`on-${nodeName}`, reqs, { nodeName });

t.test("Score: LeastAllocated (kube's TestLeastAllocatedScoringStrategy)", async (t) => {
  const twoContainers = podWithRequests("p", [
    { cpu: "1000", memory: "2000" },
    { cpu: "2000", memory: "3000" },
  ]);
  const extendedRes = "abc.com/xyz";
  const extendedSet = [
    { name: "cpu", weight: 1 },
    { name: "memory", weight: 1 },
    { name: extendedRes, weight: 1 },
  ];
  const cases: {
    name: string;
    pod: Pod;
    nodes: [string, string, string, ResourceList?][];
    existing?: Pod[];
    resources?: { name: string; weight: number }[];
    want: number[];
  }[] = [
    {
      name: "nothing scheduled, nothing requested",
      pod: podWithRequests("p", []),
      nodes: [
        ["node1", "4000", "10000"],
        ["node2", "4000", "10000"],
      ],
      want: [100, 100],
    },
    {
      name: "nothing scheduled, resources requested, differently sized nodes",
      pod: twoContainers,
      nodes: [
        ["node1", "4000", "10000"],
        ["node2", "6000", "10000"],
      ],
      want: [37, 50],
    },
    {
      name: "no resources requested, pods scheduled with resources",
      pod: podWithRequests("p", []),
      nodes: [
        ["node1", "10000", "20000"],
        ["node2", "10000", "20000"],
      ],
      existing: [
        on("node1", { cpu: "3000", memory: "0" }),
        on("node1", { cpu: "3000", memory: "0" }),
        on("node2", { cpu: "3000", memory: "0" }),
        on("node2", { cpu: "3000", memory: "5000" }),
      ],
      want: [70, 57],
    },
    {
      name: "resources requested, pods scheduled with resources, differently sized nodes",
      pod: twoContainers,
      nodes: [
        ["node1", "10000", "20000"],
        ["node2", "10000", "50000"],
      ],
      existing: [on("node1", { cpu: "3000", memory: "0" }), on("node2", { cpu: "3000", memory: "5000" })],
      want: [57, 60],
    },
    {
      name: "requested resources exceed node capacity",
      pod: podWithRequests("p", [{ cpu: "3000", memory: "0" }]),
      nodes: [
        ["node1", "4000", "10000"],
        ["node2", "4000", "10000"],
      ],
      existing: [on("node1", { cpu: "3000", memory: "0" }), on("node2", { cpu: "3000", memory: "5000" })],
      want: [50, 25],
    },
    {
      name: "nothing scheduled, different weights on cpu and memory",
      pod: twoContainers,
      nodes: [
        ["node1", "4000", "10000"],
        ["node2", "6000", "10000"],
      ],
      resources: [
        { name: "memory", weight: 2 },
        { name: "cpu", weight: 1 },
      ],
      want: [41, 50],
    },
    {
      name: "bypass an extended resource the pod does not request",
      pod: twoContainers,
      nodes: [
        ["node1", "6000", "10000"],
        ["node2", "6000", "10000", { [extendedRes]: "4" }],
      ],
      resources: extendedSet,
      want: [50, 50],
    },
    {
      name: "honor an extended resource the pod requests",
      pod: podWithRequests("p", [{ cpu: "3000", memory: "5000", [extendedRes]: "2" }]),
      nodes: [
        ["node1", "6000", "10000", { [extendedRes]: "4" }],
        ["node2", "6000", "10000", { [extendedRes]: "10" }],
      ],
      resources: extendedSet,
      want: [50, 60],
    },
    {
      name: "a resource the node does not have is left out",
      pod: podWithRequests("p", [{ cpu: "3000", memory: "4000" }]),
      nodes: [
        ["node1", "6000", "10000"],
        ["node2", "6000", "10000", { [extendedRes]: "4" }],
      ],
      resources: [
        { name: extendedRes, weight: 2 },
        { name: "cpu", weight: 1 },
        { name: "memory", weight: 1 },
      ],
      want: [55, 55],
    },
  ];
  for (const tc of cases) {
    const nis = tc.nodes.map(([name, cpu, mem, extra]) =>
      nodeInfo(n(name, cpu, mem, extra), ...(tc.existing ?? []).filter((p) => p.spec.nodeName === name)),
    );
    const args =
      tc.resources === undefined
        ? undefined
        : { scoringStrategy: { type: "LeastAllocated", resources: tc.resources } };
    const { preScore, scores } = runScore(fit(args), tc.pod, nis);
    t.equal(preScore, undefined, `${tc.name}: PreScore`);
    t.same(
      scores.map((s) => s.score),
      tc.want,
      tc.name,
    );
  }
});

t.test("Score: a best-effort pod counts 100m / 200Mi (NonZeroRequested)", async (t) => {
  // One container without requests: 100m of 1 cpu and 200Mi of 1000Mi used by the pod alone.
  const ni = nodeInfo(n("node1", "1", "1000Mi"));
  const { scores } = runScore(fit(), podWithRequests("p", [{}]), [ni]);
  // cpu (1000-100)*100/1000 = 90, memory (1000-200)*100/1000 = 80, mean 85.
  t.same(scores, [{ name: "node1", score: 85 }]);
});

t.test("Score: MostAllocated", async (t) => {
  const args = { scoringStrategy: { type: "MostAllocated" } };
  const nis = [
    nodeInfo(n("node1", "4000", "10000")),
    nodeInfo(n("node2", "6000", "10000"), on("node2", { cpu: "3000", memory: "5000" })),
  ];
  const p = podWithRequests("p", [
    { cpu: "1000", memory: "2000" },
    { cpu: "2000", memory: "3000" },
  ]);
  // node1: cpu 3000/4000 = 75, memory 5000/10000 = 50 -> 62; node2: cpu 100, memory 100 -> 100.
  t.same(
    runScore(fit(args), p, nis).scores.map((s) => s.score),
    [62, 100],
  );
  // Requests beyond capacity are capped (a best-effort pod's defaults may exceed a tiny node).
  const tiny = [nodeInfo(n("node1", "100m", "100Mi"))];
  t.same(
    runScore(fit(args), podWithRequests("p", [{}]), tiny).scores.map((s) => s.score),
    [100],
  );
});

t.test("Score: RequestedToCapacityRatio", async (t) => {
  const shape = [
    { utilization: 0, score: 10 },
    { utilization: 100, score: 0 },
  ];
  const args = { scoringStrategy: { type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape } } };
  const nis = [nodeInfo(n("node1", "4000", "10000")), nodeInfo(n("node2", "6000", "10000"))];
  const p = podWithRequests("p", [
    { cpu: "1000", memory: "2000" },
    { cpu: "2000", memory: "3000" },
  ]);
  // Reversed shape acts as LeastAllocated: node1 cpu 75% -> 25, memory 50% -> 50, round(37.5) = 38.
  t.same(
    runScore(fit(args), p, nis).scores.map((s) => s.score),
    [38, 50],
  );
  // A bin-packing shape with a bend: 0 -> 0, 50% -> 8 (80), 100% -> 10 (100).
  const bend = {
    scoringStrategy: {
      type: "RequestedToCapacityRatio",
      requestedToCapacityRatio: {
        shape: [
          { utilization: 0, score: 0 },
          { utilization: 50, score: 8 },
          { utilization: 100, score: 10 },
        ],
      },
      resources: [{ name: "cpu", weight: 1 }],
    },
  };
  // node1 cpu 75%: 80 + (20 * 25) / 50 = 90; node2 cpu 50%: 80.
  t.same(
    runScore(fit(bend), p, nis).scores.map((s) => s.score),
    [90, 80],
  );
  // Resources scoring 0 are left out of the mean: cpu 0% scores 0, memory 50% scores 80.
  const both = { scoringStrategy: { ...bend.scoringStrategy, resources: undefined } };
  const memOnly = podWithRequests("p", [{ cpu: "0", memory: "5000" }]);
  t.same(
    runScore(fit(both), memOnly, [nodeInfo(n("node1", "4000", "10000"))]).scores.map((s) => s.score),
    [80],
  );
});

t.test("args: defaults and validation (start-up errors)", async (t) => {
  const f = fit();
  t.same(f.args.scoringStrategy, {
    type: "LeastAllocated",
    resources: [
      { name: "cpu", weight: 1 },
      { name: "memory", weight: 1 },
    ],
  });
  t.same(
    fit({ scoringStrategy: { type: "MostAllocated", resources: [{ name: "cpu" }] } }).args.scoringStrategy,
    {
      type: "MostAllocated",
      resources: [{ name: "cpu", weight: 1 }],
    },
  );
  t.same(
    fit({ apiVersion: "kubescheduler.config.k8s.io/v1", kind: "NodeResourcesFitArgs" }).args.ignoredResources,
    [],
  );
  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      "unknown type",
      { scoringStrategy: { type: "Fastest" } },
      /scoringStrategy\.type: Unsupported value: "Fastest"/,
    ],
    ["missing type", { scoringStrategy: { resources: [] } }, /scoringStrategy\.type: Unsupported value: ""/],
    [
      "negative weight",
      { scoringStrategy: { type: "LeastAllocated", resources: [{ name: "memory", weight: -1 }] } },
      /scoringStrategy\.resources\[0\]\.weight: Invalid value: -1: resource weight of memory not in valid range \(0, 100\]/,
    ],
    [
      "weight above 100",
      {
        scoringStrategy: {
          type: "LeastAllocated",
          resources: [
            { name: "memory", weight: 1 },
            { name: "cpu", weight: 101 },
          ],
        },
      },
      /scoringStrategy\.resources\[1\]\.weight/,
    ],
    [
      "RequestedToCapacityRatio without a shape",
      { scoringStrategy: { type: "RequestedToCapacityRatio" } },
      /requestedToCapacityRatio: Required value/,
    ],
    [
      "shape not increasing",
      {
        scoringStrategy: {
          type: "RequestedToCapacityRatio",
          requestedToCapacityRatio: {
            shape: [
              { utilization: 50, score: 1 },
              { utilization: 10, score: 2 },
            ],
          },
        },
      },
      /shape\[1\]\.utilization: Invalid value: 10: values must be sorted in increasing order/,
    ],
    [
      "shape score above 10",
      {
        scoringStrategy: {
          type: "RequestedToCapacityRatio",
          requestedToCapacityRatio: { shape: [{ utilization: 10, score: 11 }] },
        },
      },
      /shape\[0\]\.score: Invalid value: 11: not in valid range \[0, 10\]/,
    ],
    [
      "shape with another strategy",
      { scoringStrategy: { type: "MostAllocated", requestedToCapacityRatio: { shape: [] } } },
      /requestedToCapacityRatio: Forbidden/,
    ],
    [
      "ignored resource group with a slash",
      { ignoredResourceGroups: ["example.com/aaa"] },
      /can't contain '\/'/,
    ],
    [
      "unknown field",
      { scoringStrategy: { type: "LeastAllocated", weights: 1 } },
      /unknown field "scoringStrategy\.weights"/,
    ],
  ];
  for (const [name, args, want] of bad) t.throws(() => fit(args), want, name);
  t.throws(() => fit({ scoringStrategy: { type: "Nope", resources: [{ name: "cpu", weight: 0.5 }] } }), {
    message: /^NodeResourcesFit args: \[.*type.*, .*weight.*\]$/,
  });
});

t.test("EventsToRegister and queueing hints", async (t) => {
  const events = (fit() as unknown as EnqueueExtensions).eventsToRegister();
  t.same(
    events.map((e) => [e.event.resource, e.event.actionType]),
    [
      ["Pod", 2],
      ["Node", 1 | 4],
    ],
  );
  const p = pod([{ cpu: "1", memory: "1Gi" }]);
  t.equal(isSchedulableAfterPodEvent(p, makePod("gone", { nodeName: "n" }), undefined), "Queue");
  t.equal(
    isSchedulableAfterPodEvent(p, makePod("pending"), undefined),
    "QueueSkip",
    "an unassigned pod frees nothing",
  );
  const small = nodeWith("n", { cpu: "500m", memory: "2Gi", pods: "10" });
  const big = nodeWith("n", { cpu: "2", memory: "2Gi", pods: "10" });
  const bigger = nodeWith("n", { cpu: "2", memory: "2Gi", pods: "10", [extendedA]: "1" });
  t.equal(isSchedulableAfterNodeChange(p, undefined, small), "QueueSkip", "added, too small");
  t.equal(isSchedulableAfterNodeChange(p, undefined, big), "Queue", "added, fits");
  t.equal(isSchedulableAfterNodeChange(p, small, big), "Queue", "cpu grew");
  t.equal(isSchedulableAfterNodeChange(p, big, bigger), "QueueSkip", "grew in nothing the pod wants");
});

t.test("NodeResourcesBalancedAllocation", async (t) => {
  const ba = NewBalanced(undefined, handle) as ScorePlugin;
  t.equal(ba.name, "NodeResourcesBalancedAllocation");
  t.equal(Name, "NodeResourcesFit");
  const cpuOnly = (nodeName?: string) =>
    podWithRequests(
      "cpu-only",
      [
        { cpu: "1000m", memory: "0" },
        { cpu: "2000m", memory: "0" },
      ],
      nodeName === undefined ? {} : { nodeName },
    );
  const cpuAndMemory = (nodeName?: string) =>
    podWithRequests(
      "cpu-mem",
      [
        { cpu: "1000m", memory: "2000" },
        { cpu: "2000m", memory: "3000" },
      ],
      nodeName === undefined ? {} : { nodeName },
    );
  const cases: {
    name: string;
    pod: Pod;
    nodes: [string, string, string][];
    existing?: Pod[];
    want: number[];
  }[] = [
    {
      name: "nothing scheduled, nothing requested",
      pod: podWithRequests("p", []),
      nodes: [
        ["m1", "4", "10000"],
        ["m2", "4", "10000"],
      ],
      want: [100, 100],
    },
    {
      // m1: cpu 3/4 = 0.75, memory 0.5: std 0.125 -> 87; m2: 0.5 and 0.5 -> 100.
      name: "nothing scheduled, resources requested, differently sized nodes",
      pod: cpuAndMemory(),
      nodes: [
        ["m1", "4", "10000"],
        ["m2", "6", "10000"],
      ],
      want: [87, 100],
    },
    {
      // Best-effort pods count their real (zero) requests here, not the scoring defaults.
      name: "no resources requested, pods scheduled with resources",
      pod: podWithRequests("p", []),
      nodes: [
        ["m1", "10", "20000"],
        ["m2", "10", "20000"],
      ],
      existing: [cpuOnly("m1"), cpuOnly("m1"), cpuOnly("m2"), cpuAndMemory("m2")],
      // m1: 0.6 and 0 -> 70; m2: 0.6 and 0.25 -> 82.
      want: [70, 82],
    },
    {
      // Fractions are capped at 1: m1 1 and 0 -> 50; m2 1 and 0.5 -> 75.
      name: "requested resources exceed node capacity",
      pod: cpuOnly(),
      nodes: [
        ["m1", "4", "10000"],
        ["m2", "4", "10000"],
      ],
      existing: [cpuOnly("m1"), cpuAndMemory("m2")],
      want: [50, 75],
    },
    {
      name: "zero node resources",
      pod: podWithRequests("p", []),
      nodes: [
        ["m1", "0", "0"],
        ["m2", "0", "0"],
      ],
      want: [100, 100],
    },
  ];
  for (const tc of cases) {
    const nis = tc.nodes.map(([name, cpu, mem]) =>
      nodeInfo(n(name, cpu, mem), ...(tc.existing ?? []).filter((p) => p.spec.nodeName === name)),
    );
    t.same(
      runScore(ba, tc.pod, nis).scores.map((s) => s.score),
      tc.want,
      tc.name,
    );
  }
  // Three resources: the standard deviation of all fractions.
  const three = NewBalanced(
    {
      resources: [
        { name: "cpu", weight: 1 },
        { name: "memory", weight: 1 },
        { name: extendedA, weight: 1 },
      ],
    },
    handle,
  ) as ScorePlugin;
  const p3 = podWithRequests("p", [{ cpu: "1", memory: "5000", [extendedA]: "1" }]);
  // fractions 0.25, 0.5, 0.25: mean 1/3, std sqrt((2*(1/12)^2 + (1/6)^2)/3) = 0.1178 -> 88.
  t.same(
    runScore(three, p3, [nodeInfo(n("m1", "4", "10000", { [extendedA]: "4" }))]).scores.map((s) => s.score),
    [88],
  );
  t.throws(
    () => NewBalanced({ resources: [{ name: "cpu", weight: 2 }] }, handle),
    /resources\[0\]\.weight: Invalid value: 2: must be 1/,
  );
  t.throws(
    () =>
      NewBalanced(
        {
          resources: [
            { name: "cpu", weight: 1 },
            { name: "cpu", weight: 1 },
          ],
        },
        handle,
      ),
    /resources\[1\]\.name: Duplicate value: "cpu"/,
  );
});

t.test("PreFilter writes state that survives CycleState.clone", async (t) => {
  const f = fit() as FilterPlugin & PreFilterPlugin;
  const state = new CycleState();
  f.preFilter(state, pod([{ cpu: "20m" }]), []);
  const s = f.filter(state.clone(), pod([{ cpu: "20m" }]), nodeInfo(node));
  t.same(describe(s), unschedulable("Insufficient cpu"));
});

t.test(
  "nonZeroRequests: PodRequests with NonMissingContainerRequests (init and sidecar containers too)",
  async (t) => {
    const mi = 1024 * 1024;
    const p = makePod("p", {
      spec: {
        containers: [c({})],
        initContainers: [c({ cpu: "1" }), c({ memory: "10Mi" }, { restartPolicy: "Always" })],
      },
    });
    // Containers: 100m + sidecar 100m = 200m; the init container 1000m + sidecars so far (none) wins.
    // Memory: 200Mi + sidecar 10Mi; the init container's default 200Mi does not.
    t.same(nonZeroRequests(p), { milliCPU: 1000, memory: 210 * mi });
    t.same(
      { cpu: podRequests(p).milliCPU, memory: podRequests(p).memory },
      { cpu: 1000, memory: 10 * mi },
      "without the defaults",
    );
    t.same(nonZeroRequests(makePod("q", { spec: { containers: [c({ cpu: "0", memory: "0" })] } })), {
      milliCPU: 0,
      memory: 0,
    });
  },
);
