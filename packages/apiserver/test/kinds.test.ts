/**
 * The kinds the scheduler and kubelet list at start, in process (fastify.inject) on the embedded
 * store: CRUD of each through the REST API, validation errors, the system PriorityClasses,
 * events.k8s.io <-> core/v1 Event conversion, CSR approval, tables as kube's printers, and
 * discovery verbs and subresources as kube-apiserver advertises them.
 */
import t from "tap";
import { authenticator } from "../src/auth.js";
import { type ApiServer, createApiServer } from "../src/server.js";
import { embeddedBackend } from "./backends.js";

const TOKEN = "test-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, "content-type": "application/json" };
const tableAccept = { ...auth, accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" };
type Json = Record<string, unknown>;

const CSR_PEM = Buffer.from(
  "-----BEGIN CERTIFICATE REQUEST-----\nMIIBADCBpwIBADAPMQ0wCwYDVQQDDARub2RlMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n-----END CERTIFICATE REQUEST-----\n",
).toString("base64");

/** One object of each new kind: where it lives, a valid body, and a field to change. */
const samples: { path: string; body: Json; change: (o: Json) => Json }[] = [
  {
    path: "/apis/scheduling.k8s.io/v1/priorityclasses",
    body: {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "high" },
      value: 1000,
    },
    change: (o) => ({ ...o, description: "changed" }),
  },
  {
    path: "/apis/storage.k8s.io/v1/storageclasses",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "fast" },
      provisioner: "example.com/fast",
    },
    change: (o) => ({ ...o, allowVolumeExpansion: true }),
  },
  {
    path: "/apis/storage.k8s.io/v1/csinodes",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "CSINode",
      metadata: { name: "node-1" },
      spec: { drivers: [{ name: "example.com/csi", nodeID: "n1" }] },
    },
    change: (o) => ({ ...o, spec: { drivers: [] } }),
  },
  {
    path: "/apis/storage.k8s.io/v1/csidrivers",
    body: { apiVersion: "storage.k8s.io/v1", kind: "CSIDriver", metadata: { name: "example.com" }, spec: {} },
    change: (o) => ({ ...o, spec: { ...(o.spec as Json), podInfoOnMount: true } }),
  },
  {
    path: "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "CSIStorageCapacity",
      metadata: { name: "cap" },
      storageClassName: "fast",
      capacity: "10Gi",
    },
    change: (o) => ({ ...o, capacity: "20Gi" }),
  },
  {
    path: "/api/v1/persistentvolumes",
    body: {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pv1" },
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp/pv1" } },
    },
    change: (o) => ({ ...o, spec: { ...(o.spec as Json), storageClassName: "fast" } }),
  },
  {
    path: "/api/v1/namespaces/default/persistentvolumeclaims",
    body: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "claim" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    },
    change: (o) => ({ ...o, metadata: { ...(o.metadata as Json), labels: { a: "b" } } }),
  },
  {
    path: "/apis/node.k8s.io/v1/runtimeclasses",
    body: {
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: "gvisor" },
      handler: "runsc",
    },
    change: (o) => ({ ...o, overhead: { podFixed: { cpu: "100m" } } }),
  },
  {
    path: "/apis/apps/v1/namespaces/default/controllerrevisions",
    body: {
      apiVersion: "apps/v1",
      kind: "ControllerRevision",
      metadata: { name: "rev-1" },
      data: { a: 1 },
      revision: 1,
    },
    change: (o) => ({ ...o, revision: 2 }),
  },
  {
    path: "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
    body: {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5 },
    },
    change: (o) => ({ ...o, spec: { ...(o.spec as Json), maxReplicas: 6 } }),
  },
  {
    path: "/apis/certificates.k8s.io/v1/certificatesigningrequests",
    body: {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: "csr1" },
      spec: { request: CSR_PEM, signerName: "kubernetes.io/kube-apiserver-client", usages: ["client auth"] },
    },
    change: (o) => ({ ...o, metadata: { ...(o.metadata as Json), labels: { a: "b" } } }),
  },
  {
    path: "/apis/events.k8s.io/v1/namespaces/default/events",
    body: {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "ev-new" },
      eventTime: "2025-01-01T00:00:00.000000Z",
      reportingController: "example.com/ctl",
      reportingInstance: "ctl-1",
      action: "Scale",
      reason: "Scaled",
      type: "Normal",
      regarding: { kind: "Deployment", namespace: "default", name: "web" },
      note: "scaled up",
    },
    change: (o) => ({ ...o, note: "scaled again" }),
  },
];

t.test("new kinds through the REST API", { timeout: 180_000 }, async (t) => {
  const backend = await embeddedBackend();
  const kv = backend.kv?.();
  if (kv === undefined) throw new Error("the embedded backend has a client");
  let server: ApiServer | undefined;
  t.teardown(async () => {
    await server?.close();
    kv.close();
    await backend.stop();
  });
  server = await createApiServer({
    kv,
    authenticate: authenticator(new Map([[TOKEN, { name: "admin", groups: ["system:masters"] }]])),
  });
  const app = server.app;
  const req = (method: string, url: string, body?: unknown, headers: Record<string, string> = json) =>
    app.inject({
      method: method as "GET",
      url,
      headers: method === "PATCH" ? { ...headers, "content-type": "application/merge-patch+json" } : headers,
      payload: body === undefined ? undefined : JSON.stringify(body),
    });

  await t.test("create, get, list, update, delete each kind", async (t) => {
    for (const s of samples) {
      const name = (s.body.metadata as Json).name as string;
      const made = await req("POST", s.path, s.body);
      t.equal(made.statusCode, 201, `create ${s.body.kind}: ${made.body}`);
      const got = await req("GET", `${s.path}/${name}`);
      t.equal(got.statusCode, 200, `get ${s.body.kind}`);
      t.equal(got.json().kind, s.body.kind);
      t.equal(got.json().apiVersion, s.body.apiVersion);
      const list = (await req("GET", s.path)).json();
      t.equal(list.kind, `${s.body.kind}List`);
      t.ok(
        list.items.some((i: Json) => (i.metadata as Json).name === name),
        `${s.body.kind} listed`,
      );
      const put = await req("PUT", `${s.path}/${name}`, s.change(got.json()));
      t.equal(put.statusCode, 200, `update ${s.body.kind}: ${put.body}`);
      const table = (await req("GET", s.path, undefined, tableAccept)).json();
      t.equal(table.kind, "Table", `${s.body.kind} table`);
      t.equal(
        table.rows[0].cells.length,
        table.columnDefinitions.length,
        `${s.body.kind} cells match columns`,
      );
    }
  });

  await t.test("defaults as kube's", async (t) => {
    const pc = (await req("GET", "/apis/scheduling.k8s.io/v1/priorityclasses/high")).json();
    t.equal(pc.preemptionPolicy, "PreemptLowerPriority");
    const sc = (await req("GET", "/apis/storage.k8s.io/v1/storageclasses/fast")).json();
    t.match(sc, { reclaimPolicy: "Delete", volumeBindingMode: "Immediate" });
    const drv = (await req("GET", "/apis/storage.k8s.io/v1/csidrivers/example.com")).json();
    t.match(drv.spec, {
      attachRequired: true,
      podInfoOnMount: true,
      storageCapacity: false,
      fsGroupPolicy: "ReadWriteOnceWithFSType",
      requiresRepublish: false,
      volumeLifecycleModes: ["Persistent"],
    });
    const pv = (await req("GET", "/api/v1/persistentvolumes/pv1")).json();
    t.match(pv, {
      spec: { persistentVolumeReclaimPolicy: "Retain", volumeMode: "Filesystem" },
      status: { phase: "Pending" },
    });
    const pvc = (await req("GET", "/api/v1/namespaces/default/persistentvolumeclaims/claim")).json();
    t.match(pvc, { spec: { volumeMode: "Filesystem" }, status: { phase: "Pending" } });
    const hpa = (
      await req("GET", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web")
    ).json();
    t.same(hpa.spec.minReplicas, 1);
    t.same(hpa.spec.metrics, [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
    ]);
  });

  await t.test("validation errors with kube's messages", async (t) => {
    const cases: [string, Json, RegExp][] = [
      [
        "/apis/scheduling.k8s.io/v1/priorityclasses",
        {
          apiVersion: "scheduling.k8s.io/v1",
          kind: "PriorityClass",
          metadata: { name: "system-mine" },
          value: 5,
        },
        /metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class/,
      ],
      [
        "/apis/scheduling.k8s.io/v1/priorityclasses",
        {
          apiVersion: "scheduling.k8s.io/v1",
          kind: "PriorityClass",
          metadata: { name: "huge" },
          value: 1000000001,
        },
        /value: Forbidden: maximum allowed value of a user defined priority is 1000000000/,
      ],
      [
        "/apis/storage.k8s.io/v1/storageclasses",
        {
          apiVersion: "storage.k8s.io/v1",
          kind: "StorageClass",
          metadata: { name: "bad" },
          reclaimPolicy: "Keep",
        },
        /provisioner: Required value.*reclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"/,
      ],
      [
        "/api/v1/persistentvolumes",
        {
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: { name: "bad" },
          spec: { accessModes: ["ReadWriteOnce"] },
        },
        /spec.capacity: Required value.*spec: Required value: must specify a volume type/,
      ],
      [
        "/api/v1/namespaces/default/persistentvolumeclaims",
        { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "bad" }, spec: {} },
        /spec.accessModes: Required value: at least 1 access mode is required.*spec.resources\[storage\]: Required value/,
      ],
      [
        "/apis/node.k8s.io/v1/runtimeclasses",
        {
          apiVersion: "node.k8s.io/v1",
          kind: "RuntimeClass",
          metadata: { name: "bad" },
          handler: "Not_A_Label",
        },
        /handler: Invalid value: "Not_A_Label": a lowercase RFC 1123 label/,
      ],
      [
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
        {
          apiVersion: "autoscaling/v2",
          kind: "HorizontalPodAutoscaler",
          metadata: { name: "bad" },
          spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 3, maxReplicas: 2 },
        },
        /spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`/,
      ],
      [
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
        {
          apiVersion: "certificates.k8s.io/v1",
          kind: "CertificateSigningRequest",
          metadata: { name: "bad" },
          spec: { request: Buffer.from("junk").toString("base64"), signerName: "nodomain" },
        },
        /spec.request: Invalid value: .*PEM block type must be CERTIFICATE REQUEST.*spec.usages: Required value.*spec.signerName: Invalid value: "nodomain": must be a fully qualified domain and path of the form 'example.com\/signer-name'/,
      ],
      [
        "/apis/events.k8s.io/v1/namespaces/default/events",
        { apiVersion: "events.k8s.io/v1", kind: "Event", metadata: { name: "bad" }, type: "Normal" },
        /eventTime: Required value/,
      ],
      [
        "/apis/apps/v1/namespaces/default/controllerrevisions",
        { apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name: "bad" }, revision: -1 },
        /data: Required value: data is mandatory.*revision: Invalid value: -1: must be greater than or equal to 0/,
      ],
    ];
    for (const [path, body, message] of cases) {
      const r = await req("POST", path, body);
      t.equal(r.statusCode, 422, `${body.kind} ${(body.metadata as Json).name}: 422`);
      t.match(r.json(), { kind: "Status", reason: "Invalid", code: 422 });
      t.match(r.json().message, message, `${body.kind}: ${r.json().message}`);
    }
    // Immutable fields on update.
    const pc = (await req("GET", "/apis/scheduling.k8s.io/v1/priorityclasses/high")).json();
    const r = await req("PUT", "/apis/scheduling.k8s.io/v1/priorityclasses/high", { ...pc, value: 7 });
    t.equal(r.statusCode, 422);
    t.match(r.json().message, /value: Forbidden: may not be changed in an update\./);
    const sc = (await req("GET", "/apis/storage.k8s.io/v1/storageclasses/fast")).json();
    const r2 = await req("PUT", "/apis/storage.k8s.io/v1/storageclasses/fast", {
      ...sc,
      provisioner: "other.io/x",
    });
    t.match(r2.json().message, /provisioner: Forbidden: updates to provisioner are forbidden\./);
  });

  await t.test("the system PriorityClasses exist and cannot be deleted", async (t) => {
    const list = (await req("GET", "/apis/scheduling.k8s.io/v1/priorityclasses")).json();
    const byName = new Map(list.items.map((i: Json) => [(i.metadata as Json).name, i]));
    t.match(byName.get("system-cluster-critical"), {
      value: 2000000000,
      preemptionPolicy: "PreemptLowerPriority",
    });
    t.match(byName.get("system-node-critical"), { value: 2000001000, globalDefault: false });
    const del = await req("DELETE", "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical");
    t.equal(del.statusCode, 403);
    t.match(del.json(), {
      reason: "Forbidden",
      message: /this is a system priority class and cannot be deleted/,
    });
    const same = await req("POST", "/apis/scheduling.k8s.io/v1/priorityclasses", {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "system-node-critical" },
      value: 2000001000,
    });
    t.equal(
      same.json().reason,
      "AlreadyExists",
      "a system class with the right value is not refused by validation",
    );
    const table = (
      await req("GET", "/apis/scheduling.k8s.io/v1/priorityclasses", undefined, tableAccept)
    ).json();
    t.same(
      table.columnDefinitions.map((c: Json) => c.name),
      ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
    );
  });

  await t.test("Events: one store, both group versions", async (t) => {
    const core = "/api/v1/namespaces/default/events";
    const events = "/apis/events.k8s.io/v1/namespaces/default/events";
    // Created through events.k8s.io, read through core/v1.
    const asCore = (await req("GET", `${core}/ev-new`)).json();
    t.match(asCore, {
      apiVersion: "v1",
      kind: "Event",
      message: "scaled again",
      involvedObject: { kind: "Deployment", name: "web" },
      reportingComponent: "example.com/ctl",
      reportingInstance: "ctl-1",
      action: "Scale",
    });
    t.notOk("note" in asCore || "regarding" in asCore, "no events.k8s.io field names in core/v1");
    // Created through core/v1, read through events.k8s.io.
    const made = await req("POST", core, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "ev-old" },
      involvedObject: { kind: "Pod", namespace: "default", name: "p1", fieldPath: "spec.containers{c}" },
      reason: "Pulled",
      message: "image pulled",
      type: "Normal",
      source: { component: "kubelet", host: "node-1" },
      count: 3,
      firstTimestamp: "2025-01-01T00:00:00Z",
      lastTimestamp: "2025-01-01T00:05:00Z",
    });
    t.equal(made.statusCode, 201, made.body);
    const asEvents = (await req("GET", `${events}/ev-old`)).json();
    t.match(asEvents, {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      note: "image pulled",
      regarding: { kind: "Pod", name: "p1" },
      deprecatedSource: { component: "kubelet", host: "node-1" },
      deprecatedCount: 3,
      deprecatedFirstTimestamp: "2025-01-01T00:00:00Z",
      deprecatedLastTimestamp: "2025-01-01T00:05:00Z",
    });
    t.notOk(
      "message" in asEvents || "involvedObject" in asEvents || "count" in asEvents,
      "no core field names",
    );
    t.equal(
      asEvents.metadata.resourceVersion,
      made.json().metadata.resourceVersion,
      "the same stored object",
    );
    const coreNames = (await req("GET", core)).json().items.map((i: Json) => (i.metadata as Json).name);
    const eventsList = (await req("GET", events)).json();
    t.same(coreNames.sort(), eventsList.items.map((i: Json) => (i.metadata as Json).name).sort());
    t.ok(eventsList.items.every((i: Json) => i.apiVersion === "events.k8s.io/v1"));
    // A patch through events.k8s.io lands in core/v1's view.
    const patched = await req("PATCH", `${events}/ev-old`, { note: "re-pulled" });
    t.equal(patched.statusCode, 200, patched.body);
    t.equal((await req("GET", `${core}/ev-old`)).json().message, "re-pulled");
    // kube's event printer: LAST SEEN TYPE REASON OBJECT MESSAGE, the rest only with -o wide.
    for (const path of [core, events]) {
      const table = (await req("GET", path, undefined, tableAccept)).json();
      t.same(
        table.columnDefinitions.map((c: Json) => [c.name, c.priority]),
        [
          ["Last Seen", 0],
          ["Type", 0],
          ["Reason", 0],
          ["Object", 0],
          ["Subobject", 1],
          ["Source", 1],
          ["Message", 0],
          ["First Seen", 1],
          ["Count", 1],
          ["Name", 1],
        ],
        `${path} columns`,
      );
      const row = table.rows.find((r: { cells: unknown[] }) => r.cells[9] === "ev-old");
      t.match(row?.cells, [
        /^\d/,
        "Normal",
        "Pulled",
        "pod/p1",
        "spec.containers{c}",
        "kubelet, node-1",
        "re-pulled",
        /^\d/,
        3,
        "ev-old",
      ]);
    }
    // A watch through events.k8s.io sees a core/v1 write in its own form, and the other way round.
    const from = (await req("GET", core)).json().metadata.resourceVersion;
    await req("POST", core, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "ev-watched" },
      involvedObject: { kind: "Pod", namespace: "default", name: "p2" },
      reason: "Started",
      message: "watched",
      type: "Normal",
    });
    for (const [path, form] of [
      [events, { apiVersion: "events.k8s.io/v1", note: "watched", regarding: { name: "p2" } }],
      [core, { apiVersion: "v1", message: "watched", involvedObject: { name: "p2" } }],
    ] as const) {
      const lines = (await req("GET", `${path}?watch=true&timeoutSeconds=1&resourceVersion=${from}`)).body
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l));
      const added = lines.find((e) => e.type === "ADDED" && e.object.metadata.name === "ev-watched");
      t.match(added?.object, form, `watch ${path}`);
    }
    t.equal((await req("DELETE", `${events}/ev-old`)).statusCode, 200);
    t.equal((await req("GET", `${core}/ev-old`)).statusCode, 404, "deleted through one, gone from the other");
  });

  await t.test("HorizontalPodAutoscalers: autoscaling/v1 and v2 share one store", async (t) => {
    const v1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers";
    const v2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
    const made = await req("POST", v1, {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "old" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        maxReplicas: 3,
        targetCPUUtilizationPercentage: 50,
      },
    });
    t.equal(made.statusCode, 201, made.body);
    t.match(made.json(), {
      apiVersion: "autoscaling/v1",
      spec: { minReplicas: 1, targetCPUUtilizationPercentage: 50 },
    });
    const asV2 = (await req("GET", `${v2}/old`)).json();
    t.same(asV2.spec.metrics, [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
      },
    ]);
    t.equal(asV2.apiVersion, "autoscaling/v2");
    // A v2 object with more than v1 can say keeps it through a v1 read-modify-write.
    const metrics = [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } },
      },
      {
        type: "Resource",
        resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
      },
    ];
    await req("POST", v2, {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "rich" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        maxReplicas: 4,
        metrics,
      },
    });
    const asV1 = (await req("GET", `${v1}/rich`)).json();
    t.equal(asV1.spec.targetCPUUtilizationPercentage, 60);
    t.same(JSON.parse(asV1.metadata.annotations["autoscaling.alpha.kubernetes.io/metrics"]), [metrics[1]]);
    const put = await req("PUT", `${v1}/rich`, { ...asV1, spec: { ...asV1.spec, maxReplicas: 6 } });
    t.equal(put.statusCode, 200, put.body);
    const back = (await req("GET", `${v2}/rich`)).json();
    t.same(back.spec.metrics, metrics, "metrics kept");
    t.equal(back.spec.maxReplicas, 6);
    t.notOk(back.metadata.annotations, "no conversion annotations in v2");
    const bad = await req("POST", v1, {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "bad" },
      spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 3, maxReplicas: 2 },
    });
    t.equal(bad.statusCode, 422);
    t.match(
      bad.json().message,
      /spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`/,
    );
    const table = (await req("GET", v1, undefined, tableAccept)).json();
    t.match(table.rows.find((r: { cells: unknown[] }) => r.cells[0] === "old")?.cells, [
      "old",
      "Deployment/web",
      "cpu: <unknown>/50%",
      "1",
      3,
      0,
    ]);
  });

  await t.test("CSR approval subresource", async (t) => {
    const path = "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr1";
    const csr = (await req("GET", path)).json();
    const approved = await req("PUT", `${path}/approval`, {
      ...csr,
      spec: { ...csr.spec, usages: ["server auth"] },
      status: {
        conditions: [{ type: "Approved", status: "True", reason: "Test", message: "ok" }],
        certificate: Buffer.from("not through approval").toString("base64"),
      },
    });
    t.equal(approved.statusCode, 200, approved.body);
    const after = (await req("GET", path)).json();
    t.match(after.status.conditions, [{ type: "Approved", status: "True" }]);
    t.notOk(after.status.certificate, "approval changes conditions only");
    t.same(after.spec.usages, ["client auth"], "spec untouched");
    const table = (
      await req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", undefined, tableAccept)
    ).json();
    t.same(
      table.columnDefinitions.map((c: Json) => c.name),
      ["Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"],
    );
    t.equal(table.rows.find((r: { cells: unknown[] }) => r.cells[0] === "csr1").cells[5], "Approved");
  });

  await t.test("Node status keeps what kubelets write", async (t) => {
    const node = {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "n1", labels: { "node-role.kubernetes.io/control-plane": "" } },
      status: {
        conditions: [
          {
            type: "Ready",
            status: "True",
            lastHeartbeatTime: "2025-01-01T00:00:00Z",
            lastTransitionTime: "2025-01-01T00:00:00Z",
            reason: "KubeletReady",
            message: "kubelet is posting ready status",
          },
        ],
        nodeInfo: {
          kubeletVersion: "v1.32.0",
          osImage: "Debian",
          kernelVersion: "6.1",
          containerRuntimeVersion: "containerd://1.7",
        },
        addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        images: [{ names: ["nginx:1.27"], sizeBytes: 1000 }],
        capacity: { cpu: "2" },
        allocatable: { cpu: "2" },
        runtimeHandlers: [
          { name: "runc", features: { recursiveReadOnlyMounts: true, userNamespaces: false } },
        ],
        features: { supplementalGroupsPolicy: true },
      },
    };
    const made = await req("POST", "/api/v1/nodes?fieldValidation=Strict", node);
    t.equal(made.statusCode, 201, made.body);
    const st = await req("PUT", "/api/v1/nodes/n1/status?fieldValidation=Strict", {
      ...made.json(),
      status: node.status,
    });
    t.equal(st.statusCode, 200, st.body);
    t.equal(st.json().status.conditions[0].lastHeartbeatTime, "2025-01-01T00:00:00Z");
    t.same(st.json().status.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
    const table = (await req("GET", "/api/v1/nodes", undefined, tableAccept)).json();
    t.same(
      table.columnDefinitions.map((c: Json) => c.name),
      [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
      ],
    );
    t.match(table.rows[0].cells, [
      "n1",
      "Ready",
      "control-plane",
      /./,
      "v1.32.0",
      "10.0.0.1",
      "<none>",
      "Debian",
      "6.1",
      "containerd://1.7",
    ]);
  });

  await t.test("discovery advertises what is served, with kube's verbs", async (t) => {
    const v1 = (await req("GET", "/api/v1")).json();
    const names = v1.resources.map((r: Json) => r.name);
    for (const gone of ["pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/proxy"])
      t.notOk(names.includes(gone), `${gone} not advertised`);
    for (const here of [
      "pods/status",
      "pods/binding",
      "pods/eviction",
      "persistentvolumes/status",
      "persistentvolumeclaims/status",
    ])
      t.ok(names.includes(here), `${here} advertised`);
    const ns = v1.resources.find((r: Json) => r.name === "namespaces");
    t.same(ns.verbs, ["create", "delete", "get", "list", "patch", "update", "watch"]);
    t.equal(
      (await req("DELETE", "/api/v1/namespaces")).statusCode,
      405,
      "no DELETE on the namespace collection",
    );
    const pv = v1.resources.find((r: Json) => r.name === "persistentvolumes");
    t.match(pv, {
      namespaced: false,
      shortNames: ["pv"],
      verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
    });
    const csr = (await req("GET", "/apis/certificates.k8s.io/v1")).json();
    t.same(
      csr.resources.map((r: Json) => [r.name, r.verbs]),
      [
        [
          "certificatesigningrequests",
          ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        ],
        ["certificatesigningrequests/status", ["get", "patch", "update"]],
        ["certificatesigningrequests/approval", ["get", "patch", "update"]],
      ],
    );
    const agg = (
      await app.inject({
        url: "/api",
        headers: { ...auth, accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" },
      })
    ).json();
    const pods = agg.items[0].versions[0].resources.find((r: Json) => r.resource === "pods");
    t.same(
      pods.subresources.map((s: Json) => s.subresource).sort(),
      ["binding", "eviction", "status"],
      "aggregated discovery: served pod subresources only",
    );
    const aggNs = agg.items[0].versions[0].resources.find((r: Json) => r.resource === "namespaces");
    t.notOk(aggNs.verbs.includes("deletecollection"));
    const groups = (await req("GET", "/apis")).json().groups.map((g: Json) => g.name);
    for (const g of [
      "scheduling.k8s.io",
      "storage.k8s.io",
      "node.k8s.io",
      "events.k8s.io",
      "autoscaling",
      "certificates.k8s.io",
    ])
      t.ok(groups.includes(g), `${g} served`);
    const openapi = (await req("GET", "/openapi/v3")).json();
    t.ok(openapi.paths["apis/scheduling.k8s.io/v1"], "OpenAPI v3 for scheduling.k8s.io/v1");
    const doc = (await req("GET", "/openapi/v3/apis/storage.k8s.io/v1")).json();
    t.ok(doc.components.schemas["io.k8s.api.storage.v1.StorageClass"], "StorageClass schema");
  });
});
