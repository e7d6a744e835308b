import t from "tap";
import type { KindDef } from "../src/kind.js";
import { cronJobKind, jobKind } from "../src/kinds/batch.js";
import { endpointSliceKind } from "../src/kinds/discovery.js";
import { podDisruptionBudgetKind } from "../src/kinds/policy.js";
import { limitRangeKind, resourceQuotaKind } from "../src/kinds/quota.js";
import { daemonSetKind, statefulSetKind } from "../src/kinds/workloads.js";
import type { KubeObject } from "../src/meta.js";
import { componentName, openApiDocument } from "../src/openapi.js";
import { parseQuantity } from "../src/quantity.js";
import { Registry } from "../src/registry.js";
import { errorBody } from "../src/validation.js";

type Json = Record<string, unknown>;
const now = new Date("2025-01-01T01:00:00Z");
const created = "2025-01-01T00:00:00Z";
const make = (k: KindDef, name: string, body: Json = {}): KubeObject => ({
  apiVersion: k.group === "" ? k.version : `${k.group}/${k.version}`,
  kind: k.kind,
  metadata: { name, namespace: "default", uid: "u-1", creationTimestamp: created },
  ...body,
});
const defaulted = (k: KindDef, o: KubeObject) => {
  k.defaults?.(o);
  return o;
};
const errors = (k: KindDef, o: KubeObject, old?: KubeObject) =>
  (k.validate?.(o, old) ?? []).map((e) => `${e.field}: ${errorBody(e)}`);
const template = (labels: Json, restartPolicy?: string) => ({
  metadata: { labels },
  spec: { containers: [{ name: "c", image: "nginx:1.27" }], ...(restartPolicy ? { restartPolicy } : {}) },
});

t.test("parseQuantity", async (t) => {
  const cases: [string, number][] = [
    ["100m", 0.1],
    ["1Gi", 1073741824],
    ["1", 1],
    ["2k", 2000],
    ["1.5", 1.5],
    ["500Mi", 500 * 2 ** 20],
    ["1e3", 1000],
    ["1E-2", 0.01],
    ["-2", -2],
    ["+.5", 0.5],
    ["10n", 1e-8],
    ["3u", 3e-6],
    ["1M", 1e6],
    ["2E", 2e18],
    ["1Ei", 2 ** 60],
  ];
  for (const [q, want] of cases) t.equal(parseQuantity(q), want, q);
  const message =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
  for (const bad of ["", "abc", "1Gb", "1 Gi", ".", "1ki", "1e", "Mi", "1constructor", "--1"])
    t.throws(() => parseQuantity(bad), { message }, JSON.stringify(bad));
});

t.test("DaemonSet", async (t) => {
  const ds = defaulted(
    daemonSetKind,
    make(daemonSetKind, "agent", {
      spec: { selector: { matchLabels: { app: "a" } }, template: template({ app: "a" }) },
    }),
  );
  t.match(ds.spec, {
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
    revisionHistoryLimit: 10,
    template: { spec: { restartPolicy: "Always", dnsPolicy: "ClusterFirst" } },
  });
  t.same(ds.status, {
    currentNumberScheduled: 0,
    desiredNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
  });
  t.same(errors(daemonSetKind, ds), []);
  const bad = defaulted(
    daemonSetKind,
    make(daemonSetKind, "bad", {
      spec: { selector: { matchLabels: { app: "x" } }, template: template({ app: "a" }, "Never") },
    }),
  );
  t.same(errors(daemonSetKind, bad), [
    'spec.template.metadata.labels: Invalid value: {"app":"a"}: `selector` does not match template `labels`',
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  ]);
  const both = structuredClone(ds);
  (both.spec as Json).updateStrategy = {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 1, maxSurge: "10%" },
  };
  t.same(errors(daemonSetKind, both), [
    'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "10%": may not be set when maxUnavailable is non-zero',
  ]);
  const moved = structuredClone(ds);
  (moved.spec as Json).selector = { matchLabels: { app: "a", tier: "x" } };
  (moved.spec as { template: { metadata: { labels: Json } } }).template.metadata.labels.tier = "x";
  t.match(errors(daemonSetKind, moved, ds), [
    'spec.selector: Invalid value: {"matchLabels":{"app":"a","tier":"x"}}: field is immutable',
  ]);
  const status = {
    desiredNumberScheduled: 3,
    currentNumberScheduled: 3,
    numberReady: 2,
    updatedNumberScheduled: 3,
    numberAvailable: 2,
  };
  const shown = {
    ...ds,
    spec: {
      ...(ds.spec as Json),
      template: {
        ...template({ app: "a" }),
        spec: { ...template({}).spec, nodeSelector: { "kubernetes.io/os": "linux" } },
      },
    },
    status,
  };
  t.same(daemonSetKind.table.cells(shown, now), [
    3,
    3,
    2,
    3,
    2,
    "kubernetes.io/os=linux",
    "c",
    "nginx:1.27",
    "app=a",
  ]);
  t.same(
    daemonSetKind.table.columns.map((c) => [c.name, c.priority]),
    [
      ["Desired", 0],
      ["Current", 0],
      ["Ready", 0],
      ["Up-to-date", 0],
      ["Available", 0],
      ["Node Selector", 0],
      ["Containers", 1],
      ["Images", 1],
      ["Selector", 1],
    ],
  );
});

t.test("StatefulSet", async (t) => {
  const sts = defaulted(
    statefulSetKind,
    make(statefulSetKind, "db", {
      spec: {
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: template({ app: "db" }),
        volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }],
      },
    }),
  );
  t.match(sts.spec, {
    replicas: 1,
    podManagementPolicy: "OrderedReady",
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
    revisionHistoryLimit: 10,
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    volumeClaimTemplates: [
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        spec: { volumeMode: "Filesystem" },
        status: { phase: "Pending" },
      },
    ],
  });
  t.same(errors(statefulSetKind, sts), []);
  const bad = structuredClone(sts);
  Object.assign(bad.spec as Json, { podManagementPolicy: "Random", replicas: -1 });
  t.same(errors(statefulSetKind, bad), [
    "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
    "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
  ]);
  const renamed = structuredClone(sts);
  (renamed.spec as Json).serviceName = "other";
  t.match(errors(statefulSetKind, renamed, sts), [
    /^spec: Forbidden: updates to statefulset spec for fields other than 'replicas'/,
  ]);
  const scaled = structuredClone(sts);
  (scaled.spec as Json).replicas = 3;
  t.same(errors(statefulSetKind, scaled, sts), []);
  t.same(statefulSetKind.table.cells({ ...scaled, status: { readyReplicas: 2 } }, now), [
    "2/3",
    "c",
    "nginx:1.27",
  ]);
  t.same(statefulSetKind.subresources, ["status", "scale"]);
});

t.test("Job", async (t) => {
  const job = defaulted(jobKind, make(jobKind, "pi", { spec: { template: template({}, "Never") } }));
  t.match(job.spec, {
    parallelism: 1,
    completions: 1,
    backoffLimit: 6,
    completionMode: "NonIndexed",
    suspend: false,
    podReplacementPolicy: "TerminatingOrFailed",
    selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } },
  });
  const labels = {
    "batch.kubernetes.io/controller-uid": "u-1",
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": "u-1",
    "job-name": "pi",
  };
  t.same((job.spec as { template: { metadata: { labels: Json } } }).template.metadata.labels, labels);
  t.same(job.metadata.labels, labels, "the Job takes its pods' labels");
  t.same(errors(jobKind, job), []);
  const always = defaulted(jobKind, make(jobKind, "bad", { spec: { template: template({}) } }));
  t.same(errors(jobKind, always), [
    'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);
  const manual = defaulted(
    jobKind,
    make(jobKind, "m", { spec: { manualSelector: true, template: template({ app: "m" }, "OnFailure") } }),
  );
  t.same(errors(jobKind, manual), ["spec.selector: Required value"]);
  const notGenerated = defaulted(
    jobKind,
    make(jobKind, "n", {
      spec: { selector: { matchLabels: { app: "n" } }, template: template({ app: "n" }, "Never") },
    }),
  );
  t.same(errors(jobKind, notGenerated), [
    'spec.selector: Invalid value: {"matchLabels":{"app":"n"}}: `selector` not auto-generated',
  ]);
  const again = structuredClone(job);
  jobKind.defaults?.(again);
  t.same(again, job, "defaulting twice changes nothing");
  const running = { ...job, status: { startTime: "2025-01-01T00:58:00Z", succeeded: 0 } };
  t.same(jobKind.table.cells(running, now), [
    "Running",
    "0/1",
    "2m",
    "c",
    "nginx:1.27",
    "batch.kubernetes.io/controller-uid=u-1",
  ]);
  const done = {
    ...job,
    status: {
      startTime: "2025-01-01T00:00:00Z",
      completionTime: "2025-01-01T00:00:07Z",
      succeeded: 1,
      conditions: [{ type: "Complete", status: "True" }],
    },
  };
  t.same(jobKind.table.cells(done, now).slice(0, 3), ["Complete", "1/1", "7s"]);
  t.same(
    jobKind.table.cells(
      { ...job, spec: { ...(job.spec as Json), completions: undefined, parallelism: 3 } },
      now,
    )[1],
    "0/1 of 3",
  );
});

t.test("CronJob", async (t) => {
  const cj = defaulted(
    cronJobKind,
    make(cronJobKind, "hello", {
      spec: { schedule: "*/5 * * * *", jobTemplate: { spec: { template: template({}, "OnFailure") } } },
    }),
  );
  t.match(cj.spec, {
    concurrencyPolicy: "Allow",
    suspend: false,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
    jobTemplate: { metadata: {}, spec: { template: { spec: { dnsPolicy: "ClusterFirst" } } } },
  });
  t.notOk(
    "backoffLimit" in ((cj.spec as Json).jobTemplate as { spec: Json }).spec,
    "no Job defaults in templates",
  );
  t.same(errors(cronJobKind, cj), []);
  const bad = structuredClone(cj);
  Object.assign(bad.spec as Json, { schedule: "61 * * * *", concurrencyPolicy: "Sometimes" });
  t.same(errors(cronJobKind, bad), [
    'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
    'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
  ]);
  (bad.spec as Json).schedule = "* * *";
  t.match(
    errors(cronJobKind, bad)[0],
    'spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]',
  );
  for (const ok of ["@hourly", "0 0 * * MON-FRI", "@every 1h30m", "5,10 1-3/2 ? JAN *"])
    t.same(errors(cronJobKind, { ...cj, spec: { ...(cj.spec as Json), schedule: ok } }), [], ok);
  const shown = {
    ...cj,
    status: { active: [{ name: "hello-1" }], lastScheduleTime: "2025-01-01T00:55:00Z" },
  };
  t.same(cronJobKind.table.cells(shown, now), [
    "*/5 * * * *",
    "<none>",
    "False",
    1,
    "5m",
    "c",
    "nginx:1.27",
    "<none>",
  ]);
  t.same(cronJobKind.table.cells(cj, now).slice(4, 5), ["<none>"]);
});

t.test("EndpointSlice", async (t) => {
  const es = defaulted(
    endpointSliceKind,
    make(endpointSliceKind, "web-abc", {
      addressType: "IPv4",
      endpoints: [
        { addresses: ["10.0.0.1"], conditions: { ready: true }, nodeName: "n1" },
        { addresses: ["10.0.0.2"] },
        { addresses: ["10.0.0.3"] },
        { addresses: ["10.0.0.4"] },
      ],
      ports: [{ port: 80 }, { name: "https", port: 443, protocol: "TCP" }],
    }),
  );
  t.same(es.ports, [
    { port: 80, name: "", protocol: "TCP" },
    { name: "https", port: 443, protocol: "TCP" },
  ]);
  t.same(errors(endpointSliceKind, es), []);
  const bad = make(endpointSliceKind, "bad", {
    addressType: "IPv5",
    endpoints: [{ addresses: [] }],
    ports: [{ name: "p", port: 70000, protocol: "TCP" }],
  });
  t.same(errors(endpointSliceKind, bad), [
    'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"',
    "endpoints[0].addresses: Required value: must contain at least 1 address",
    "ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
  ]);
  const badIp = make(endpointSliceKind, "ip", {
    addressType: "IPv4",
    endpoints: [{ addresses: ["fe80::1"] }],
  });
  t.same(errors(endpointSliceKind, badIp), [
    'endpoints[0].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address',
  ]);
  t.same(endpointSliceKind.table.cells(es, now), [
    "IPv4",
    "80,443",
    "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
  ]);
  t.same(
    endpointSliceKind.table.cells(make(endpointSliceKind, "e", { addressType: "IPv4", endpoints: [] }), now),
    ["IPv4", "<unset>", "<unset>"],
  );
});

t.test("PodDisruptionBudget", async (t) => {
  const pdb = defaulted(
    podDisruptionBudgetKind,
    make(podDisruptionBudgetKind, "web", {
      spec: { minAvailable: 2, selector: { matchLabels: { app: "web" } } },
    }),
  );
  t.same(pdb.status, { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 });
  t.same(errors(podDisruptionBudgetKind, pdb), []);
  const both = make(podDisruptionBudgetKind, "b", { spec: { minAvailable: 1, maxUnavailable: "150%" } });
  t.same(errors(podDisruptionBudgetKind, both), [
    'spec: Invalid value: {"minAvailable":1,"maxUnavailable":"150%"}: minAvailable and maxUnavailable cannot be both set',
    'spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
  ]);
  t.same(
    errors(podDisruptionBudgetKind, make(podDisruptionBudgetKind, "p", { spec: { maxUnavailable: "ten" } })),
    [
      "spec.maxUnavailable: Invalid value: \"ten\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ],
  );
  t.same(podDisruptionBudgetKind.table.cells({ ...pdb, status: { disruptionsAllowed: 1 } }, now), [
    "2",
    "N/A",
    1,
  ]);
  t.same(podDisruptionBudgetKind.subresources, ["status"]);
});

t.test("ResourceQuota", async (t) => {
  const rq = defaulted(
    resourceQuotaKind,
    make(resourceQuotaKind, "q", {
      spec: {
        hard: { pods: "10", "requests.cpu": "2", "limits.memory": "2Gi", "count/deployments.apps": "5" },
      },
    }),
  );
  t.same(errors(resourceQuotaKind, rq), []);
  const bad = make(resourceQuotaKind, "bad", {
    spec: { hard: { pods: "1.5", widgets: "1", cpu: "-1", memory: "lots" } },
  });
  t.same(errors(resourceQuotaKind, bad), [
    'spec.hard[pods]: Invalid value: "1.5": must be an integer',
    'spec.hard[widgets]: Invalid value: "widgets": must be a standard resource type or fully qualified',
    'spec.hard[widgets]: Invalid value: "widgets": must be a standard resource for quota',
    'spec.hard[cpu]: Invalid value: "-1": must be greater than or equal to 0',
    "spec.hard[memory]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
  ]);
  const shown = {
    ...rq,
    status: {
      hard: rq.spec && (rq.spec as Json).hard,
      used: { pods: "1", "requests.cpu": "0", "limits.memory": "512Mi" },
    },
  };
  t.same(resourceQuotaKind.table.cells(shown, now), [
    "60m",
    "count/deployments.apps: 0/5, pods: 1/10, requests.cpu: 0/2",
    "limits.memory: 512Mi/2Gi",
  ]);
  t.same(
    resourceQuotaKind.table.columns.map((c) => c.name),
    ["Age", "Request", "Limit"],
  );
  t.ok(resourceQuotaKind.table.noAge);
});

t.test("LimitRange", async (t) => {
  const lr = defaulted(
    limitRangeKind,
    make(limitRangeKind, "lr", {
      spec: {
        limits: [
          { type: "Container", max: { cpu: "2" }, min: { memory: "64Mi" }, default: { memory: "512Mi" } },
        ],
      },
    }),
  );
  t.same((lr.spec as { limits: Json[] }).limits[0], {
    type: "Container",
    max: { cpu: "2" },
    min: { memory: "64Mi" },
    default: { cpu: "2", memory: "512Mi" },
    defaultRequest: { cpu: "2", memory: "512Mi" },
  });
  t.same(errors(limitRangeKind, lr), []);
  const bad = make(limitRangeKind, "bad", {
    spec: {
      limits: [
        { type: "Container", max: { cpu: "1" }, min: { cpu: "2" } },
        { type: "Pod", default: { cpu: "1" } },
        { type: "Container" },
      ],
    },
  });
  t.same(errors(limitRangeKind, bad), [
    'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
    "spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'",
    'spec.limits[2].type: Duplicate value: "Container"',
  ]);
  t.same(limitRangeKind.table.cells(lr, now), [created]);
  t.same(
    limitRangeKind.table.columns.map((c) => c.name),
    ["Created At"],
  );
  t.ok(limitRangeKind.table.noAge);
});

t.test("registry, discovery order and OpenAPI", async (t) => {
  const gvs = new Registry().groupVersions();
  const kinds = [
    daemonSetKind,
    statefulSetKind,
    jobKind,
    cronJobKind,
    endpointSliceKind,
    podDisruptionBudgetKind,
    resourceQuotaKind,
    limitRangeKind,
  ];
  for (const k of kinds) {
    const gv = gvs.find((g) => g.group === k.group && g.version === k.version);
    t.ok(gv?.kinds.includes(k), `${k.kind} registered`);
    if (gv === undefined) continue;
    const doc = openApiDocument(gv, "v1.32.0") as { components: { schemas: Record<string, Json> } };
    const schema = doc.components.schemas[componentName(k)];
    t.same(
      schema?.["x-kubernetes-group-version-kind"],
      [{ group: k.group, version: k.version, kind: k.kind }],
      componentName(k),
    );
  }
  t.equal(componentName(endpointSliceKind), "io.k8s.api.discovery.v1.EndpointSlice");
  t.same(
    gvs.map((g) => `${g.group}/${g.version}`),
    [
      "/v1",
      "apps/v1",
      "events.k8s.io/v1",
      "authentication.k8s.io/v1",
      "authorization.k8s.io/v1",
      "autoscaling/v2",
      "autoscaling/v1",
      "batch/v1",
      "certificates.k8s.io/v1",
      "policy/v1",
      "storage.k8s.io/v1",
      "scheduling.k8s.io/v1",
      "coordination.k8s.io/v1",
      "node.k8s.io/v1",
      "discovery.k8s.io/v1",
    ],
  );
});
