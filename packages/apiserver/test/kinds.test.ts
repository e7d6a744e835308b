/**
 * The kinds the scheduler and kubelet list at start, in process (fastify.inject) on the embedded
 * store: CRUD of each through the REST API, defaults, validation errors with kube's messages, the
 * system PriorityClasses and CSR approval. (Shared storage, Node status and discovery:
 * kinds-shared.test.ts.)
 */
import t from "tap";
import { type Json, samples, startKindsServer, tableAccept } from "./kinds-fixtures.js";

t.test("new kinds through the REST API", { timeout: 180_000 }, async (t) => {
  const { req } = await startKindsServer(t);

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
        "/api/v1/namespaces/default/events",
        {
          apiVersion: "v1",
          kind: "Event",
          metadata: { name: "bad" },
          involvedObject: { kind: "Pod", namespace: "other", name: "p" },
        },
        /involvedObject.namespace: Invalid value: "other": does not match event.namespace/,
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

  await t.test("Priority admission: pods get their class's priority; one global default", async (t) => {
    const pods = "/api/v1/namespaces/default/pods";
    const pod = (name: string, spec: Json = {}) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: { containers: [{ name: "c", image: "nginx:1.27" }], ...spec },
    });
    const plain = await req("POST", pods, pod("plain"));
    t.equal(plain.statusCode, 201, plain.body);
    t.match(plain.json().spec, { priority: 0, preemptionPolicy: "PreemptLowerPriority" });
    t.notOk(plain.json().spec.priorityClassName, "no class named when there is no global default");
    const critical = await req("POST", pods, pod("critical", { priorityClassName: "system-node-critical" }));
    t.match(critical.json().spec, { priority: 2000001000, preemptionPolicy: "PreemptLowerPriority" });
    const unknown = await req("POST", pods, pod("unknown", { priorityClassName: "nope" }));
    t.equal(unknown.statusCode, 403);
    t.equal(unknown.json().message, 'pods "unknown" is forbidden: no PriorityClass with name nope was found');
    const wrong = await req("POST", pods, pod("wrong", { priorityClassName: "high", priority: 5 }));
    t.equal(wrong.statusCode, 403);
    t.match(
      wrong.json().message,
      /the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name/,
    );
    const pcs = "/apis/scheduling.k8s.io/v1/priorityclasses";
    const mk = (name: string, value: number) => ({
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name },
      value,
      globalDefault: true,
      preemptionPolicy: "Never",
    });
    t.equal((await req("POST", pcs, mk("everyone", 10))).statusCode, 201);
    const second = await req("POST", pcs, mk("another", 20));
    t.equal(second.statusCode, 403);
    t.equal(
      second.json().message,
      'priorityclasses.scheduling.k8s.io "another" is forbidden: PriorityClass everyone is already marked as default. Only one default can exist',
    );
    const defaulted = (await req("POST", pods, pod("defaulted"))).json();
    t.match(defaulted.spec, { priorityClassName: "everyone", priority: 10, preemptionPolicy: "Never" });
    const upd = await req("PATCH", `${pods}/defaulted`, { metadata: { labels: { a: "b" } } });
    t.equal(upd.json().spec.priority, 10, "an update keeps the priority");
    for (const name of ["plain", "critical", "defaulted"])
      await req("DELETE", `${pods}/${name}?gracePeriodSeconds=0`);
    await req("DELETE", `${pcs}/everyone`);
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
});
