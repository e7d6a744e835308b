/**
 * Kinds that share storage across group versions (core/v1 and events.k8s.io/v1 Events,
 * autoscaling/v1 and v2 HorizontalPodAutoscalers), the Node status kubelets write, and discovery
 * verbs and subresources as kube-apiserver advertises them; in process on the embedded store.
 */
import t from "tap";
import { auth, type Json, samples, startKindsServer, tableAccept } from "./kinds-fixtures.js";

t.test("shared storage, node status and discovery", { timeout: 180_000 }, async (t) => {
  const { app, req } = await startKindsServer(t);
  // The events.k8s.io sample, as kinds.test.ts leaves it after its update.
  const ev = samples.find((s) => s.body.apiVersion === "events.k8s.io/v1");
  if (ev === undefined) throw new Error("no events.k8s.io sample");
  t.equal((await req("POST", ev.path, ev.change(ev.body))).statusCode, 201);

  await t.test("Events: one store, both group versions", async (t) => {
    const core = "/api/v1/namespaces/default/events";
    const events = "/apis/events.k8s.io/v1/namespaces/default/events";
    // Created through events.k8s.io, read through core/v1.
    const asCore = (await req("GET", `${core}/ev-new`)).json();
    t.match(asCore, {
      apiVersion: "v1",
      kind: "Event",
      message: "scaled up",
      series: { count: 2 },
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
    // events.k8s.io updates change the series only (strict validation, kube's field names)...
    const refused = await req("PATCH", `${events}/ev-old`, { note: "re-pulled" });
    t.equal(refused.statusCode, 422);
    t.match(refused.json().message, /message: Invalid value: "re-pulled": field is immutable/);
    // ...while a core/v1 patch (legacy validation) may change the message, seen through both.
    const patched = await req("PATCH", `${core}/ev-old`, { message: "re-pulled" });
    t.equal(patched.statusCode, 200, patched.body);
    t.equal((await req("GET", `${events}/ev-old`)).json().note, "re-pulled");
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
    for (const gone of ["pods/proxy", "pods/ephemeralcontainers", "services/proxy"])
      t.notOk(names.includes(gone), `${gone} not advertised`);
    for (const here of [
      "pods/log",
      "pods/exec",
      "pods/attach",
      "pods/portforward",
      "nodes/proxy",
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
      ["attach", "binding", "eviction", "exec", "log", "portforward", "status"],
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
