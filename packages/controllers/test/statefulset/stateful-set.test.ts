/**
 * The StatefulSet controller's sync in client-go's style: fixture caches, sync(key), then the
 * actions recorded by the fake client and the objects left in its tracker (kube's
 * stateful_set_control_test.go cases: ordered and parallel scaling, failed pods, partitioned and
 * OnDelete updates, claims and their retention policy, revision history).
 */
import type { Pod } from "@skiff/api";
import t from "tap";
import { KEY, newClaim, newFixture, newSet, newSetPod, revisionOf, T0 } from "./fixtures.js";

const created = (f: ReturnType<typeof newFixture>) =>
  f.acts("create", "pods").map((a) => a.object?.metadata.name);
const deleted = (f: ReturnType<typeof newFixture>) => f.acts("delete", "pods").map((a) => a.name);

t.test("OrderedReady: the claim, then web-0 alone; web-1 only once web-0 is Running and Ready", async (t) => {
  const f = newFixture();
  const set = newSet(3);
  f.seed(set);
  await f.c.sync(KEY);
  t.same(created(f), ["web-0"], "one pod at a time");
  t.same(
    f.acts("create", "persistentvolumeclaims").map((a) => a.object?.metadata.name),
    ["data-web-0"],
  );
  const claimAt = f.client.actions.findIndex(
    (a) => a.verb === "create" && a.resource === "persistentvolumeclaims",
  );
  const podAt = f.client.actions.findIndex((a) => a.verb === "create" && a.resource === "pods");
  t.ok(claimAt < podAt, "the claim before the pod");
  const [pod] = f.pods();
  const rev = f.revisions()[0];
  t.equal(rev?.metadata.name, revisionOf(set).metadata.name, "the revision <set>-<hash>");
  t.same(pod?.metadata.labels, {
    app: "web",
    "statefulset.kubernetes.io/pod-name": "web-0",
    "apps.kubernetes.io/pod-index": "0",
    "controller-revision-hash": rev?.metadata.name,
  });
  t.equal(pod?.spec.hostname, "web-0");
  t.equal(pod?.spec.subdomain, "web");
  t.same(pod?.spec.volumes, [
    { name: "data", persistentVolumeClaim: { claimName: "data-web-0", readOnly: false } },
  ]);
  t.match(pod?.metadata.ownerReferences, [{ kind: "StatefulSet", uid: "uid-web", controller: true }]);
  t.match(f.claims()[0]?.metadata.labels, { app: "web" });
  t.match(f.set().status, {
    replicas: 0,
    currentRevision: rev?.metadata.name,
    updateRevision: rev?.metadata.name,
    collisionCount: 0,
    observedGeneration: 1,
  });

  f.client.clearActions();
  f.observe();
  const pending = { ...(f.pods()[0] as Pod), status: { phase: "Pending" as const } };
  f.seed(pending);
  await f.c.sync(KEY);
  t.same(created(f), [], "web-0 is Pending: wait");

  f.seed(newSetPod(set, 0, { revision: rev?.metadata.name as string }));
  await f.c.sync(KEY);
  t.same(created(f), ["web-1"], "web-0 Running and Ready: web-1 next");
  t.match(f.set().status, {
    replicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    currentReplicas: 1,
    updatedReplicas: 1,
  });
  await f.flushEvents();
  t.match(
    f.events.map((e) => e.message),
    [
      "create Claim data-web-0 Pod web-0 in StatefulSet web success",
      "create Pod web-0 in StatefulSet web successful",
      "create Claim data-web-1 Pod web-1 in StatefulSet web success",
      "create Pod web-1 in StatefulSet web successful",
    ],
  );
});

t.test("Parallel: every pod at once; ordinals from spec.ordinals.start", async (t) => {
  const f = newFixture();
  f.seed(newSet(3, { podManagementPolicy: "Parallel", ordinals: { start: 5 } }));
  await f.c.sync(KEY);
  t.same(created(f).sort(), ["web-5", "web-6", "web-7"]);
  t.same(
    f
      .claims()
      .map((c) => c.metadata.name)
      .sort(),
    ["data-web-5", "data-web-6", "data-web-7"],
  );
});

t.test("scale down: highest ordinal first, the next only once it is gone", async (t) => {
  const f = newFixture();
  const set = newSet(1);
  const rev = revisionOf(set).metadata.name as string;
  f.seed(
    set,
    revisionOf(set),
    ...[0, 1, 2].map((n) => newSetPod(set, n, { revision: rev })),
    ...[0, 1, 2].map((n) => newClaim(n)),
  );
  await f.c.sync(KEY);
  t.same(deleted(f), ["web-2"]);
  f.client.clearActions();
  f.seed(newSetPod(set, 2, { revision: rev, deleting: true }));
  await f.c.sync(KEY);
  t.same(deleted(f), [], "web-2 is still terminating: wait");
  f.remove(newSetPod(set, 2, { revision: rev }));
  await f.c.sync(KEY);
  t.same(deleted(f), ["web-1"]);
  t.same(f.acts("delete", "persistentvolumeclaims"), [], "claims are retained");

  const g = newFixture();
  g.seed(
    set,
    revisionOf(set),
    newSetPod(set, 0, { revision: rev, ready: false }),
    newSetPod(set, 1, { revision: rev }),
  );
  await g.c.sync(KEY);
  t.same(deleted(g), [], "OrderedReady waits for web-0 to be ready before scaling down");

  const p = newFixture();
  const parallel = newSet(0, { podManagementPolicy: "Parallel" });
  const prev = revisionOf(parallel).metadata.name as string;
  p.seed(parallel, ...[0, 1, 2].map((n) => newSetPod(parallel, n, { revision: prev, ready: n !== 1 })));
  await p.c.sync(KEY);
  t.same(deleted(p).sort(), ["web-0", "web-1", "web-2"], "Parallel deletes them all at once");
});

t.test("a failed pod is deleted, and made again only once its deletion has finished", async (t) => {
  for (const policy of ["OrderedReady", "Parallel"] as const) {
    const f = newFixture();
    const set = newSet(2, { podManagementPolicy: policy });
    const rev = revisionOf(set).metadata.name as string;
    f.seed(
      set,
      revisionOf(set),
      newClaim(0),
      newClaim(1),
      newSetPod(set, 0, { revision: rev }),
      newSetPod(set, 1, { revision: rev, phase: "Failed" }),
    );
    await f.c.sync(KEY);
    t.same(deleted(f), ["web-1"], `${policy}: the failed pod deleted`);
    t.same(created(f), [], `${policy}: not made again in the same step`);
    f.client.clearActions();
    f.seed(newSetPod(set, 1, { revision: rev, phase: "Failed", deleting: true }));
    await f.c.sync(KEY);
    t.same([...deleted(f), ...created(f)], [], `${policy}: nothing while the old pod terminates`);
    f.remove(newSetPod(set, 1, { revision: rev }));
    await f.c.sync(KEY);
    t.same(created(f), ["web-1"], `${policy}: made again once gone`);
  }
});

t.test("partitioned rolling update: from the highest ordinal down to the partition", async (t) => {
  const f = newFixture();
  const old = newSet(3, {}, "app:1");
  const oldRev = revisionOf(old);
  const set = newSet(
    3,
    { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } },
    "app:2",
  );
  set.metadata.generation = 2;
  set.status = { replicas: 3, currentRevision: oldRev.metadata.name as string, currentReplicas: 3 };
  const oldName = oldRev.metadata.name as string;
  f.seed(
    set,
    oldRev,
    ...[0, 1, 2].map((n) => newSetPod(old, n, { revision: oldName })),
    ...[0, 1, 2].map((n) => newClaim(n)),
  );
  await f.c.sync(KEY);
  t.same(deleted(f), ["web-2"], "the highest ordinal first");
  const newRev = f.revisions().find((r) => r.metadata.name !== oldName);
  t.equal(newRev?.revision, 2);
  t.match(f.set().status, {
    currentRevision: oldName,
    updateRevision: newRev?.metadata.name,
    currentReplicas: 2,
    updatedReplicas: 0,
  });

  // web-2 comes back at the update revision; once it is ready web-1 goes; web-0 stays.
  f.client.clearActions();
  f.remove(newSetPod(old, 2, { revision: oldName }));
  await f.c.sync(KEY);
  t.same(created(f), ["web-2"]);
  const made = f.pods().find((p) => p.metadata.name === "web-2");
  t.equal(made?.metadata.labels?.["controller-revision-hash"], newRev?.metadata.name);
  t.equal(made?.spec.containers[0]?.image, "app:2");
  f.client.clearActions();
  f.seed(newSetPod(set, 2, { revision: newRev?.metadata.name as string, image: "app:2" }));
  await f.c.sync(KEY);
  t.same(deleted(f), ["web-1"]);
  f.client.clearActions();
  f.seed(newSetPod(set, 1, { revision: newRev?.metadata.name as string, image: "app:2" }));
  await f.c.sync(KEY);
  t.same(deleted(f), [], "web-0 is below the partition");
  t.match(f.set().status, { currentReplicas: 1, updatedReplicas: 2, currentRevision: oldName });

  // A pod below the partition made again gets the current (old) template.
  f.remove(newSetPod(old, 0, { revision: oldName }));
  f.client.clearActions();
  await f.c.sync(KEY);
  const web0 = f.pods().find((p) => p.metadata.name === "web-0");
  t.equal(web0?.metadata.labels?.["controller-revision-hash"], oldName);
  t.equal(web0?.spec.containers[0]?.image, "app:1");
});

t.test("the rolling update completes: the update revision becomes current", async (t) => {
  const f = newFixture();
  const old = newSet(2, {}, "app:1");
  const oldRev = revisionOf(old);
  const set = newSet(2, {}, "app:2");
  const newRev = revisionOf(set, 2);
  set.status = { replicas: 2, currentRevision: oldRev.metadata.name as string };
  f.seed(
    set,
    oldRev,
    newRev,
    newClaim(0),
    newClaim(1),
    ...[0, 1].map((n) => newSetPod(set, n, { revision: newRev.metadata.name as string, image: "app:2" })),
  );
  await f.c.sync(KEY);
  t.match(f.set().status, {
    currentRevision: newRev.metadata.name,
    updateRevision: newRev.metadata.name,
    currentReplicas: 2,
    updatedReplicas: 2,
  });
});

t.test("OnDelete: a new template replaces nothing; a deleted pod comes back new", async (t) => {
  const f = newFixture();
  const old = newSet(2);
  const oldRev = revisionOf(old);
  const set = newSet(2, { updateStrategy: { type: "OnDelete" } }, "app:2");
  set.status = { replicas: 2, currentRevision: oldRev.metadata.name as string };
  f.seed(
    set,
    oldRev,
    newClaim(0),
    newClaim(1),
    newSetPod(old, 0, { revision: oldRev.metadata.name as string }),
  );
  await f.c.sync(KEY);
  t.same(deleted(f), []);
  t.same(created(f), ["web-1"]);
  t.equal(f.pods().find((p) => p.metadata.name === "web-1")?.spec.containers[0]?.image, "app:2");
});

t.test("MaxUnavailableStatefulSet: up to maxUnavailable pods replaced at once", async (t) => {
  const f = newFixture({ maxUnavailableStatefulSet: true });
  const old = newSet(4);
  const oldRev = revisionOf(old);
  const set = newSet(
    4,
    { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0, maxUnavailable: "50%" } } },
    "app:2",
  );
  set.status = { replicas: 4, currentRevision: oldRev.metadata.name as string };
  f.seed(
    set,
    oldRev,
    ...[0, 1, 2, 3].map((n) => newClaim(n)),
    ...[0, 1, 2, 3].map((n) => newSetPod(old, n, { revision: oldRev.metadata.name as string })),
  );
  await f.c.sync(KEY);
  t.same(deleted(f), ["web-3", "web-2"]);

  const g = newFixture();
  g.seed(
    set,
    oldRev,
    ...[0, 1, 2, 3].map((n) => newClaim(n)),
    ...[0, 1, 2, 3].map((n) => newSetPod(old, n, { revision: oldRev.metadata.name as string })),
  );
  await g.c.sync(KEY);
  t.same(deleted(g), ["web-3"], "the feature off (kube 1.32's default): one at a time");
});

t.test(
  "retention policy: the set owns claims (whenDeleted Delete), a scaled-away pod its own (whenScaled Delete)",
  async (t) => {
    const f = newFixture();
    const set = newSet(1, {
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
    });
    const rev = revisionOf(set).metadata.name as string;
    const web1 = newSetPod(set, 1, { revision: rev });
    f.seed(set, revisionOf(set), newClaim(0), newClaim(1), newSetPod(set, 0, { revision: rev }), web1);
    await f.c.sync(KEY);
    const claim0 = f.claims().find((c) => c.metadata.name === "data-web-0");
    const claim1 = f.claims().find((c) => c.metadata.name === "data-web-1");
    t.match(claim0?.metadata.ownerReferences, [{ kind: "StatefulSet", uid: "uid-web", controller: true }]);
    t.same(
      claim1?.metadata.ownerReferences?.map((r) => `${r.kind}/${r.uid}`),
      [`Pod/${web1.metadata.uid}`],
      "the condemned pod owns its claim",
    );
    t.same(deleted(f), ["web-1"], "then the pod goes (and the garbage collector takes its claim)");

    // web-1 again before the collector removed the claim: it waits for the stale claim to go.
    const g = newFixture();
    const up = newSet(2, {
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Delete" },
    });
    const upRev = revisionOf(up).metadata.name as string;
    g.seed(
      up,
      revisionOf(up),
      newClaim(0),
      newSetPod(up, 0, { revision: upRev }),
      newClaim(1, [
        { apiVersion: "v1", kind: "Pod", name: "web-1", uid: "uid-of-the-old-web-1", controller: true },
      ]),
    );
    await g.c.sync(KEY);
    t.same(created(g), [], "a stale claim blocks the pod");
  },
);

t.test("revision history: non-live revisions beyond the limit are deleted, oldest first", async (t) => {
  const f = newFixture();
  const set = newSet(1, { revisionHistoryLimit: 1 });
  const cur = revisionOf(set, 5);
  const olds = [1, 2, 3, 4].map((n) => revisionOf(newSet(1, {}, `app:0.${n}`), n));
  f.seed(set, cur, ...olds, newClaim(0), newSetPod(set, 0, { revision: olds[1]?.metadata.name as string }));
  await f.c.sync(KEY);
  t.same(
    f.acts("delete", "controllerrevisions").map((a) => a.name),
    [olds[0]?.metadata.name, olds[2]?.metadata.name],
    "revision 2 is live (a pod runs it), revision 4 is within the limit",
  );
});

t.test("orphans: matching revisions adopted; a matching pod of another name is not claimed", async (t) => {
  const f = newFixture();
  const set = newSet(1);
  const orphanRev = revisionOf(set);
  delete orphanRev.metadata.ownerReferences;
  const stranger: Pod = {
    ...newSetPod(set, 0, { revision: "x" }),
    metadata: { name: "other-0", namespace: "ns", uid: "uid-other", labels: { app: "web" } },
  };
  f.seed(set, orphanRev, stranger);
  await f.c.sync(KEY);
  t.match(f.acts("patch", "controllerrevisions"), [{ name: orphanRev.metadata.name }]);
  t.match(f.revisions()[0]?.metadata.ownerReferences, [{ uid: "uid-web", controller: true }]);
  t.same(f.acts("patch", "pods"), [], "other-0 is not a member: not adopted");
  t.same(created(f), ["web-0"]);
});

t.test("minReadySeconds: a set not yet available is looked at again later", async (t) => {
  const f = newFixture();
  const set = newSet(1, { minReadySeconds: 30 });
  const rev = revisionOf(set).metadata.name as string;
  const pod = newSetPod(set, 0, { revision: rev });
  (pod.status?.conditions ?? [])[0] = {
    type: "Ready",
    status: "True",
    lastTransitionTime: new Date(T0 - 5_000).toISOString(),
  };
  f.seed(set, revisionOf(set), newClaim(0), pod);
  await f.c.sync(KEY);
  t.match(f.set().status, { readyReplicas: 1, availableReplicas: 0 });
  t.equal(f.c.queue.len(), 0);
  f.clock.step(30_000);
  t.equal(f.c.queue.len(), 1, "requeued after minReadySeconds");
});
