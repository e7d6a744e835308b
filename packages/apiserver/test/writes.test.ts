/**
 * The write side as kube-apiserver 1.32 answers it: graceful deletion of pods, uid and
 * resourceVersion preconditions, retries of unconditional writes, no-op writes, pod spec
 * immutability, binding, eviction with a PodDisruptionBudget, Services' IP families and DELETE's
 * Status answers. Bounds on bodies and patches: patch-bounds.test.ts.
 */
import t from "tap";
import { boundPod, cms, jsonPatch, merge, NS, pod, pods, strategic, writesServer } from "./writes-server.js";

const req = await writesServer(t);

t.test("graceful deletion of pods", async (t) => {
  await boundPod(t, req, "g1", { terminationGracePeriodSeconds: 45 });
  const bound = (await req("GET", `${pods}/g1`)).json();
  t.equal(bound.spec.nodeName, "node-1");
  t.match(bound.status.conditions, [{ type: "PodScheduled", status: "True" }]);

  const del = await req("DELETE", `${pods}/g1`);
  t.equal(del.statusCode, 200);
  t.equal(del.json().metadata.deletionGracePeriodSeconds, 45, "spec.terminationGracePeriodSeconds");
  t.ok(del.json().metadata.deletionTimestamp);
  const shorter = await req("DELETE", `${pods}/g1?gracePeriodSeconds=10`);
  t.equal(shorter.json().metadata.deletionGracePeriodSeconds, 10, "a second DELETE shortens the grace");
  const longer = await req("DELETE", `${pods}/g1?gracePeriodSeconds=20`);
  t.equal(longer.json().metadata.deletionGracePeriodSeconds, 10, "but never lengthens it");

  const status = await req("PATCH", `${pods}/g1/status`, { status: { phase: "Running" } }, merge);
  t.equal(status.statusCode, 200, "the kubelet may update status of a terminating pod");
  t.equal((await req("GET", `${pods}/g1`)).json().status.phase, "Running", "and the pod stays");
  const fin = await req("PATCH", `${pods}/g1`, { metadata: { finalizers: ["example.com/x"] } }, merge);
  t.equal(fin.statusCode, 422);
  t.match(fin.json().message, /no new finalizers can be added if the object is being deleted/);

  const gone = await req("DELETE", `${pods}/g1`, {
    kind: "DeleteOptions",
    apiVersion: "v1",
    gracePeriodSeconds: 0,
  });
  t.equal(gone.statusCode, 200);
  t.equal((await req("GET", `${pods}/g1`)).statusCode, 404, "grace 0 removes it");

  t.equal((await req("POST", pods, pod("unbound"))).statusCode, 201);
  t.equal((await req("DELETE", `${pods}/unbound`)).statusCode, 200);
  t.equal((await req("GET", `${pods}/unbound`)).statusCode, 404, "an unscheduled pod goes at once");

  await boundPod(t, req, "done");
  await req("PATCH", `${pods}/done/status`, { status: { phase: "Succeeded" } }, merge);
  await req("DELETE", `${pods}/done`);
  t.equal((await req("GET", `${pods}/done`)).statusCode, 404, "a Succeeded pod goes at once");

  // A terminating object with finalizers: removing the last one deletes it (grace 0).
  await req("POST", cms, { metadata: { name: "fin", finalizers: ["example.com/keep"] } });
  const marked = await req("DELETE", `${cms}/fin`);
  t.equal(marked.json().metadata.deletionGracePeriodSeconds, 0);
  t.equal((await req("PATCH", `${cms}/fin`, { metadata: { finalizers: null } }, merge)).statusCode, 200);
  t.equal((await req("GET", `${cms}/fin`)).statusCode, 404, "the last finalizer removed deletes it");
});

t.test("uid and resourceVersion preconditions", async (t) => {
  const made = (await req("POST", cms, { metadata: { name: "pre" }, data: { a: "1" } })).json();
  const wrong = "00000000-0000-0000-0000-000000000000";
  const put = await req("PUT", `${cms}/pre`, { ...made, metadata: { ...made.metadata, uid: wrong } });
  t.equal(put.statusCode, 409);
  t.match(
    put.json().message,
    `Precondition failed: UID in precondition: ${wrong}, UID in object meta: ${made.metadata.uid}`,
  );
  // kube's patcher has no preconditions: changing the uid is ValidateObjectMetaUpdate's 422.
  const patched = await req("PATCH", `${cms}/pre`, { metadata: { uid: wrong }, data: { b: "2" } }, merge);
  t.equal(patched.statusCode, 422);
  t.equal(
    patched.json().message,
    `ConfigMap "pre" is invalid: metadata.uid: Invalid value: "${wrong}": field is immutable`,
  );
  t.equal(
    (await req("PATCH", `${cms}/pre`, { metadata: { uid: made.metadata.uid } }, merge)).statusCode,
    200,
  );
  const del = await req("DELETE", `${cms}/pre`, { preconditions: { uid: wrong } });
  t.equal(del.statusCode, 409);
  t.match(del.json().message, /the UID in the precondition .* does not match the UID in record/);
  const coll = await req("DELETE", cms, { preconditions: { uid: wrong } });
  t.equal(coll.statusCode, 409, "deletecollection applies preconditions too");

  const stale = await req(
    "PATCH",
    `${cms}/pre`,
    { metadata: { resourceVersion: "1" }, data: { c: "3" } },
    merge,
  );
  t.equal(stale.statusCode, 409);
  t.equal(
    stale.json().message,
    'Operation cannot be fulfilled on configmaps "pre": the object has been modified; please apply your changes to the latest version and try again',
  );
  t.equal((await req("PATCH", `${cms}/pre`, { data: { d: "4" } }, merge)).statusCode, 200);
  const stalePut = await req("PUT", `${cms}/pre`, made);
  t.equal(stalePut.statusCode, 409, "a PUT with a stale resourceVersion");

  // Unconditional writes racing each other are all applied (retried, never 409).
  const racers = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      req("PUT", `${cms}/pre`, { metadata: { name: "pre" }, data: { w: String(i) } }),
    ),
  );
  t.same(
    racers.map((r) => r.statusCode),
    racers.map(() => 200),
  );
  const patches = await Promise.all(
    Array.from({ length: 12 }, (_, i) => req("PATCH", `${cms}/pre`, { data: { [`k${i}`]: "v" } }, merge)),
  );
  t.same(
    patches.map((r) => r.statusCode),
    patches.map(() => 200),
  );
  t.equal(
    Object.keys((await req("GET", `${cms}/pre`)).json().data).filter((k) => k.startsWith("k")).length,
    12,
  );
});

t.test("races without preconditions are retried: status, deletes, scale", async (t) => {
  await boundPod(t, req, "race", { terminationGracePeriodSeconds: 60 });
  const writes = await Promise.all([
    ...Array.from({ length: 8 }, (_, i) =>
      req("PATCH", `${pods}/race/status`, { status: { message: `m${i}` } }, merge),
    ),
    ...Array.from({ length: 4 }, (_, i) => req("DELETE", `${pods}/race?gracePeriodSeconds=${50 - i}`)),
  ]);
  t.same(
    writes.map((r) => r.statusCode),
    writes.map(() => 200),
  );
  t.equal(
    (await req("GET", `${pods}/race`)).json().metadata.deletionGracePeriodSeconds,
    47,
    "the shortest grace won",
  );

  const apps = "/apis/apps/v1/namespaces/default/deployments";
  const d = {
    metadata: { name: "sc" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "sc" } },
      template: { metadata: { labels: { app: "sc" } }, spec: { containers: [{ name: "c", image: "x" }] } },
    },
  };
  t.equal((await req("POST", apps, d)).statusCode, 201);
  const scales = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      req("PATCH", `${apps}/sc/scale`, { spec: { replicas: i + 2 } }, merge),
    ),
  );
  t.same(
    scales.map((r) => r.statusCode),
    scales.map(() => 200),
  );
  const viaJson = await req(
    "PATCH",
    `${apps}/sc/scale`,
    [{ op: "replace", path: "/spec/replicas", value: 3 }],
    jsonPatch,
  );
  t.equal(viaJson.json().spec.replicas, 3, "scale takes JSON patches too");
  t.equal((await req("PATCH", `${apps}/sc/scale`, "null", merge)).statusCode, 400);

  await req("POST", cms, { metadata: { name: "opts" } });
  const bad = await req("DELETE", `${cms}/opts?propagationPolicy=Sideways`);
  t.equal(bad.statusCode, 422);
  t.equal(
    bad.json().message,
    'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"',
  );
});

t.test("no-op writes write nothing", async (t) => {
  const made = (await req("POST", cms, { metadata: { name: "noop" }, data: { a: "1" } })).json();
  for (let i = 0; i < 3; i++) {
    const r = await req("PATCH", `${cms}/noop`, {}, merge);
    t.equal(r.json().metadata.resourceVersion, made.metadata.resourceVersion);
  }
  const same = await req("PUT", `${cms}/noop`, made);
  t.equal(same.json().metadata.resourceVersion, made.metadata.resourceVersion, "a PUT of the stored object");
  const changed = await req("PATCH", `${cms}/noop`, { data: { a: "2" } }, merge);
  t.not(changed.json().metadata.resourceVersion, made.metadata.resourceVersion);
});

t.test("pod spec immutability, as ValidatePodUpdate", async (t) => {
  t.equal(
    (
      await req(
        "POST",
        pods,
        pod("imm", {
          tolerations: [{ key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 5 }],
        }),
      )
    ).statusCode,
    201,
  );
  const image = await req(
    "PATCH",
    `${pods}/imm`,
    { spec: { containers: [{ name: "c", image: "nginx:1.27" }] } },
    strategic,
  );
  t.equal(image.statusCode, 200, "images may change");
  const seconds = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "replace", path: "/spec/tolerations/0/tolerationSeconds", value: 9 }],
    jsonPatch,
  );
  t.equal(seconds.statusCode, 200, "tolerationSeconds may change");
  const added = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "add", path: "/spec/tolerations/-", value: { key: "b", operator: "Exists" } }],
    jsonPatch,
  );
  t.equal(added.statusCode, 200, "tolerations may be added");
  const modified = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "replace", path: "/spec/tolerations/0/key", value: "z" }],
    jsonPatch,
  );
  t.equal(modified.statusCode, 422);
  t.match(modified.json().message, /existing toleration can not be modified except its tolerationSeconds/);
  const node = await req("PATCH", `${pods}/imm`, { spec: { nodeName: "node-1" } }, merge);
  t.equal(node.statusCode, 422, "nodeName is set by binding only");
  t.match(
    node.json().message,
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`",
  );
  const resources = await req(
    "PATCH",
    `${pods}/imm`,
    { spec: { containers: [{ name: "c", resources: { limits: { cpu: "1" } } }] } },
    strategic,
  );
  t.equal(resources.statusCode, 422);
  const more = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "add", path: "/spec/containers/-", value: { name: "d", image: "x" } }],
    jsonPatch,
  );
  t.match(more.json().message, /pod updates may not add or remove containers/);
  const deadline = await req("PATCH", `${pods}/imm`, { spec: { activeDeadlineSeconds: 100 } }, merge);
  t.equal(deadline.statusCode, 200, deadline.body);
  const raised = await req("PATCH", `${pods}/imm`, { spec: { activeDeadlineSeconds: 200 } }, merge);
  t.match(raised.json().message, /must be less than or equal to previous value/);
});

t.test("services, binding, eviction and DELETE answers", async (t) => {
  const svc = await req("POST", `${NS}/services`, {
    metadata: { name: "s" },
    spec: { ports: [{ port: 80 }] },
  });
  t.same([svc.json().spec.ipFamilies, svc.json().spec.ipFamilyPolicy], [["IPv4"], "SingleStack"]);
  t.equal((await req("DELETE", `${NS}/services/s`)).json().kind, "Service", "services return the object");

  await req("POST", cms, { metadata: { name: "st" } });
  const uid = (await req("GET", `${cms}/st`)).json().metadata.uid;
  const status = await req("DELETE", `${cms}/st`);
  t.same(status.json(), {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name: "st", kind: "configmaps", uid },
  });

  const again = await req("POST", `${pods}/g2/binding`, { target: { name: "n" } });
  t.equal(again.statusCode, 404);

  const pdbs = `/apis/policy/v1/namespaces/default/poddisruptionbudgets`;
  const labels = { app: "ev" };
  t.equal(
    (
      await req("POST", pdbs, {
        metadata: { name: "b" },
        spec: { minAvailable: 1, selector: { matchLabels: labels } },
      })
    ).statusCode,
    201,
  );
  const setAllowed = (n: number) =>
    req(
      "PATCH",
      `${pdbs}/b/status`,
      {
        status: {
          disruptionsAllowed: n,
          currentHealthy: 2,
          desiredHealthy: 1,
          expectedPods: 2,
          observedGeneration: 1,
        },
      },
      merge,
    );
  t.equal((await setAllowed(1)).statusCode, 200);
  for (const n of ["e1", "e2"]) {
    await boundPod(t, req, n);
    await req("PATCH", `${pods}/${n}`, { metadata: { labels } }, merge);
    await req("PATCH", `${pods}/${n}/status`, { status: { phase: "Running" } }, merge);
  }
  const evict = (n: string) =>
    req("POST", `${pods}/${n}/eviction`, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: n },
    });
  const first = await evict("e1");
  t.equal(first.statusCode, 201, first.body);
  const pdb = (await req("GET", `${pdbs}/b`)).json();
  t.equal(pdb.status.disruptionsAllowed, 0, "the eviction used the budget");
  t.ok(pdb.status.disruptedPods.e1);
  t.ok((await req("GET", `${pods}/e1`)).json().metadata.deletionTimestamp, "e1 is terminating");
  const second = await evict("e2");
  t.equal(second.statusCode, 429);
  t.match(second.json(), {
    reason: "TooManyRequests",
    details: { causes: [{ reason: "DisruptionBudget" }] },
  });
  t.notOk((await req("GET", `${pods}/e2`)).json().metadata.deletionTimestamp, "e2 stays");

  // Two evictions at once against a budget of one: the budget is charged in the pod's own
  // transaction, so exactly one gets through.
  for (const n of ["e3", "e4"]) {
    await boundPod(t, req, n);
    await req("PATCH", `${pods}/${n}`, { metadata: { labels } }, merge);
    await req("PATCH", `${pods}/${n}/status`, { status: { phase: "Running" } }, merge);
  }
  t.equal((await setAllowed(1)).statusCode, 200);
  const both = await Promise.all([evict("e3"), evict("e4")]);
  t.same(both.map((r) => r.statusCode).sort(), [201, 429]);
  t.equal((await req("GET", `${pdbs}/b`)).json().status.disruptionsAllowed, 0);
});
