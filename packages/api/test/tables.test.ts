/**
 * Every kind's Table columns against kube-apiserver 1.32's printers
 * (pkg/printers/internalversion/printers.go): names, types and priorities (1 = only with -o wide),
 * as the API server lays them out (NAME first unless the kind prints its own, AGE before the first
 * wide column). A few cells as kube prints them.
 */
import t from "tap";
import type { ColumnDefinition, KindDef } from "../src/kind.js";
import { eventsEventKind } from "../src/kinds/events.js";
import { podKind } from "../src/kinds/pod.js";
import { serviceKind } from "../src/kinds/service.js";
import type { KubeObject } from "../src/meta.js";
import { allKinds } from "../src/registry.js";
import { ageColumn, nameColumn } from "../src/table.js";

/** The server's column layout (packages/apiserver/src/handlers/table.ts does the same). */
function layout(k: KindDef): ColumnDefinition[] {
  const cols = k.table.columns;
  const wide = cols.findIndex((c) => c.priority > 0);
  const at = wide < 0 ? cols.length : wide;
  const withAge = k.table.noAge ? cols : [...cols.slice(0, at), ageColumn, ...cols.slice(at)];
  return [...(k.table.noName ? [] : [nameColumn]), ...withAge];
}

const W = (name: string, type = "string") => `${name}:${type}:1`;
const C = (name: string, type = "string") => `${name}:${type}:0`;
const wl = [W("Containers"), W("Images"), W("Selector")];

/** kube's columns per "group/Kind". */
const kube: Record<string, string[]> = {
  "/Namespace": [C("Name"), C("Status"), C("Age")],
  "/Pod": [
    C("Name"),
    C("Ready"),
    C("Status"),
    C("Restarts"),
    C("Age"),
    W("IP"),
    W("Node"),
    W("Nominated Node"),
    W("Readiness Gates"),
  ],
  "/Service": [
    C("Name"),
    C("Type"),
    C("Cluster-IP"),
    C("External-IP"),
    C("Port(s)"),
    C("Age"),
    W("Selector"),
  ],
  "/Endpoints": [C("Name"), C("Endpoints"), C("Age")],
  "/ConfigMap": [C("Name"), C("Data"), C("Age")],
  "/Secret": [C("Name"), C("Type"), C("Data"), C("Age")],
  "/ServiceAccount": [C("Name"), C("Secrets"), C("Age")],
  "/Event": [
    C("Last Seen"),
    C("Type"),
    C("Reason"),
    C("Object"),
    W("Subobject"),
    W("Source"),
    C("Message"),
    W("First Seen"),
    W("Count"),
    W("Name"),
  ],
  "/Node": [
    C("Name"),
    C("Status"),
    C("Roles"),
    C("Age"),
    C("Version"),
    W("Internal-IP"),
    W("External-IP"),
    W("OS-Image"),
    W("Kernel-Version"),
    W("Container-Runtime"),
  ],
  "/ResourceQuota": [C("Name"), C("Age"), C("Request"), C("Limit")],
  "/LimitRange": [C("Name"), C("Created At", "date")],
  "/PersistentVolume": [
    C("Name"),
    C("Capacity"),
    C("Access Modes"),
    C("Reclaim Policy"),
    C("Status"),
    C("Claim"),
    C("StorageClass"),
    C("VolumeAttributesClass"),
    C("Reason"),
    C("Age"),
    W("VolumeMode"),
  ],
  "/PersistentVolumeClaim": [
    C("Name"),
    C("Status"),
    C("Volume"),
    C("Capacity"),
    C("Access Modes"),
    C("StorageClass"),
    C("VolumeAttributesClass"),
    C("Age"),
    W("VolumeMode"),
  ],
  "apps/Deployment": [C("Name"), C("Ready"), C("Up-to-date"), C("Available"), C("Age"), ...wl],
  "apps/ReplicaSet": [
    C("Name"),
    C("Desired", "integer"),
    C("Current", "integer"),
    C("Ready", "integer"),
    C("Age"),
    ...wl,
  ],
  "apps/DaemonSet": [
    C("Name"),
    C("Desired", "integer"),
    C("Current", "integer"),
    C("Ready", "integer"),
    C("Up-to-date", "integer"),
    C("Available", "integer"),
    C("Node Selector"),
    C("Age"),
    ...wl,
  ],
  "apps/StatefulSet": [C("Name"), C("Ready"), C("Age"), W("Containers"), W("Images")],
  "apps/ControllerRevision": [C("Name"), C("Controller"), C("Revision"), C("Age")],
  "coordination.k8s.io/Lease": [C("Name"), C("Holder"), C("Age")],
  "batch/Job": [C("Name"), C("Status"), C("Completions"), C("Duration"), C("Age"), ...wl],
  "batch/CronJob": [
    C("Name"),
    C("Schedule"),
    C("Timezone"),
    C("Suspend", "boolean"),
    C("Active", "integer"),
    C("Last Schedule"),
    C("Age"),
    ...wl,
  ],
  "policy/PodDisruptionBudget": [
    C("Name"),
    C("Min Available"),
    C("Max Unavailable"),
    C("Allowed Disruptions", "integer"),
    C("Age"),
  ],
  "discovery.k8s.io/EndpointSlice": [C("Name"), C("AddressType"), C("Ports"), C("Endpoints"), C("Age")],
  "autoscaling/HorizontalPodAutoscaler": [
    C("Name"),
    C("Reference"),
    C("Targets"),
    C("MinPods"),
    C("MaxPods"),
    C("Replicas"),
    C("Age"),
  ],
  "certificates.k8s.io/CertificateSigningRequest": [
    C("Name"),
    C("Age"),
    C("SignerName"),
    C("Requestor"),
    C("RequestedDuration"),
    C("Condition"),
  ],
  "node.k8s.io/RuntimeClass": [C("Name"), C("Handler"), C("Age")],
  "scheduling.k8s.io/PriorityClass": [
    C("Name"),
    C("Value", "integer"),
    C("Global-Default", "boolean"),
    C("Age"),
    C("PreemptionPolicy"),
  ],
  "storage.k8s.io/StorageClass": [
    C("Name"),
    C("Provisioner"),
    C("ReclaimPolicy"),
    C("VolumeBindingMode"),
    C("AllowVolumeExpansion"),
    C("Age"),
  ],
  "storage.k8s.io/CSINode": [C("Name"), C("Drivers", "integer"), C("Age")],
  "storage.k8s.io/CSIDriver": [
    C("Name"),
    C("AttachRequired", "boolean"),
    C("PodInfoOnMount", "boolean"),
    C("StorageCapacity", "boolean"),
    C("TokenRequests"),
    C("RequiresRepublish", "boolean"),
    C("Modes"),
    C("Age"),
  ],
  "storage.k8s.io/CSIStorageCapacity": [C("Name"), C("StorageClassName"), C("Capacity")],
};
kube["events.k8s.io/Event"] = kube["/Event"] as string[];

t.test("every kind's columns are kube's", async (t) => {
  // Create-only kinds (the reviews) are never listed, so never shown as a table.
  for (const k of allKinds.filter((k) => k.verbs === undefined || k.verbs.includes("list"))) {
    const key = `${k.group}/${k.kind}`;
    const want = kube[key];
    if (want === undefined) {
      t.fail(`${key}: no kube printer listed here`);
      continue;
    }
    t.same(
      layout(k).map((c) => `${c.name}:${c.type}:${c.priority}`),
      want,
      key,
    );
  }
});

const now = new Date("2025-01-01T01:00:00Z");
const pod = (status: Record<string, unknown>, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", creationTimestamp: "2025-01-01T00:00:00Z" },
  spec: { containers: [{ name: "a" }, { name: "b" }], ...spec },
  status,
});

t.test("pod cells as printPod", async (t) => {
  t.same(podKind.table.cells(pod({ phase: "Pending" }), now), [
    "0/2",
    "Pending",
    "0",
    "<none>",
    "<none>",
    "<none>",
    "<none>",
  ]);
  const running = pod(
    {
      phase: "Running",
      podIPs: [{ ip: "10.0.0.5" }],
      conditions: [
        { type: "Ready", status: "True" },
        { type: "gate", status: "True" },
      ],
      containerStatuses: [
        {
          name: "a",
          ready: true,
          restartCount: 2,
          state: { running: {} },
          lastState: { terminated: { finishedAt: "2025-01-01T00:50:00Z" } },
        },
        { name: "b", ready: false, restartCount: 0, state: { waiting: { reason: "CrashLoopBackOff" } } },
      ],
    },
    { nodeName: "n1", readinessGates: [{ conditionType: "gate" }, { conditionType: "other" }] },
  );
  t.same(podKind.table.cells(running, now), [
    "1/2",
    "CrashLoopBackOff",
    "2 (10m ago)",
    "10.0.0.5",
    "n1",
    "<none>",
    "1/2",
  ]);
  const init = pod(
    {
      phase: "Pending",
      initContainerStatuses: [
        { name: "i", restartCount: 0, state: { waiting: { reason: "PodInitializing" } } },
      ],
    },
    { initContainers: [{ name: "i" }] },
  );
  t.equal(podKind.table.cells(init, now)[1], "Init:0/1");
  const deleting = {
    ...pod({ phase: "Running" }),
    metadata: { name: "p", deletionTimestamp: "2025-01-01T00:59:00Z" },
  };
  t.equal(podKind.table.cells(deleting, now)[1], "Terminating");
});

t.test("service cells as printService", async (t) => {
  const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s" },
    spec,
    status,
  });
  t.same(
    serviceKind.table.cells(
      svc({
        type: "NodePort",
        clusterIPs: ["10.96.0.9"],
        ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
        selector: { b: "2", a: "1" },
      }),
      now,
    ),
    ["NodePort", "10.96.0.9", "<none>", "80:30080/TCP", "a=1,b=2"],
  );
  t.equal(
    serviceKind.table.cells(svc({ type: "LoadBalancer", clusterIP: "10.96.0.1" }), now)[2],
    "<pending>",
  );
  t.equal(
    serviceKind.table.cells(
      svc({ type: "LoadBalancer" }, { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } }),
      now,
    )[2],
    "1.2.3.4",
  );
  t.equal(
    serviceKind.table.cells(svc({ type: "ExternalName", externalName: "example.com" }), now)[2],
    "example.com",
  );
});

t.test("events.k8s.io Events print as core/v1 Events", async (t) => {
  const ev: KubeObject = {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name: "e1" },
    eventTime: "2025-01-01T00:59:00.000000Z",
    reportingController: "ctl",
    reportingInstance: "ctl-1",
    reason: "Done",
    type: "Normal",
    regarding: { kind: "Job", name: "j" },
    note: " finished ",
    series: { count: 4, lastObservedTime: "2025-01-01T00:59:30.000000Z" },
  };
  t.same(eventsEventKind.table.cells(ev, now), [
    "30s",
    "Normal",
    "Done",
    "job/j",
    "",
    "ctl, ctl-1",
    "finished",
    "60s",
    4,
    "e1",
  ]);
});
