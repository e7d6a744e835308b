/**
 * syncDeployment on fixture caches with the fake client (client-go's style): what it writes for
 * a new Deployment, each rolling-update step, Recreate, a scaling event, pause, cleanup,
 * adoption, a hash collision and the progress deadline.
 */
import { ApiError } from "@skiff/client";
import t from "tap";
import type { DeploymentStatus } from "../../src/deployment/types.js";
import { REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION } from "../../src/deployment/util/annotations.js";
import { getDeploymentCondition, newDeploymentCondition } from "../../src/deployment/util/conditions.js";
import { computeHash } from "../../src/util/hash.js";
import { Fixture, NS, newDeployment, newPod, newReplicaSet, T0 } from "./fixtures.js";

t.test("a new Deployment gets its ReplicaSet, revision 1 and NewReplicaSetCreated", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web", { replicas: 3 });
  d.metadata.annotations = { "kubernetes.io/change-cause": "first" };
  f.add(d);
  await f.sync(d);
  const hash = computeHash(d.spec.template);
  const rsName = `web-${hash}`;
  t.same(f.writes(), [
    `create replicasets ${rsName}`,
    "update deployments web", // the revision annotation
    "update deployments/status web", // NewReplicaSetCreated
    "update deployments/status web", // the counts and Available
  ]);
  const [rs] = f.replicaSets();
  t.equal(rs?.spec.replicas, 3, "maxSurge 25% of 3 = 1: room for all 3 from 0");
  t.same(rs?.spec.selector.matchLabels, { app: "web", "pod-template-hash": hash });
  t.same(rs?.metadata.labels, { app: "web", "pod-template-hash": hash });
  t.same(rs?.spec.template.metadata?.labels, { app: "web", "pod-template-hash": hash });
  t.same(rs?.metadata.annotations, {
    "kubernetes.io/change-cause": "first",
    [REVISION_ANNOTATION]: "1",
    "deployment.kubernetes.io/desired-replicas": "3",
    "deployment.kubernetes.io/max-replicas": "4",
  });
  t.match(rs?.metadata.ownerReferences, [
    { kind: "Deployment", name: "web", uid: "uid-web", controller: true },
  ]);
  const stored = f.deployment("web");
  t.equal(stored.metadata.annotations?.[REVISION_ANNOTATION], "1");
  t.match(getDeploymentCondition(stored.status, "Progressing"), {
    status: "True",
    reason: "NewReplicaSetCreated",
    message: `Created new replica set "${rsName}"`,
  });
  t.same(await f.eventMessages(), [`ScalingReplicaSet: Scaled up replica set ${rsName} from 0 to 3`]);
});

t.test(
  "a rolling update with maxUnavailable 0 surges one, then trades as pods become available",
  async (t) => {
    const f = new Fixture();
    t.teardown(() => f.close());
    const d = newDeployment("web", {
      replicas: 3,
      maxSurge: 1,
      maxUnavailable: 0,
      image: "img:2",
      generation: 2,
    });
    d.metadata.annotations = { [REVISION_ANNOTATION]: "1" };
    const old = newReplicaSet(d, { replicas: 3, revision: 1, image: "img:1", desired: 3, maxReplicas: 4 });
    f.add(d, old);
    await f.sync(d);
    const neu = f.replicaSets().find((rs) => rs.metadata.name !== old.metadata.name);
    t.equal(neu?.spec.replicas, 1, "3 old + 1 surge");
    t.equal(neu?.metadata.annotations?.[REVISION_ANNOTATION], "2");
    t.equal(f.client.tracker.get("apps/v1", "replicasets", NS, old.metadata.name).spec !== undefined, true);

    // The new pod is not available yet: nothing more may happen (allPods 4 - minAvailable 3 - 1 unavailable).
    const f2 = new Fixture();
    t.teardown(() => f2.close());
    const newRS = newReplicaSet(d, {
      replicas: 1,
      revision: 2,
      image: "img:2",
      available: 0,
      desired: 3,
      maxReplicas: 4,
      createdSecondsAfterT0: 10,
    });
    const d2 = structuredClone(d);
    d2.metadata.annotations = { [REVISION_ANNOTATION]: "2" };
    f2.add(d2, old, newRS);
    await f2.sync(d2);
    t.same(
      f2.writes().filter((w) => !w.startsWith("update deployments/status")),
      [],
      "only the status",
    );
    t.equal(f2.deployment("web").status?.readyReplicas, 3);

    // Once it is available, one old replica goes.
    const f3 = new Fixture();
    t.teardown(() => f3.close());
    f3.add(
      d2,
      old,
      newReplicaSet(d, {
        replicas: 1,
        revision: 2,
        image: "img:2",
        desired: 3,
        maxReplicas: 4,
        createdSecondsAfterT0: 10,
      }),
    );
    await f3.sync(d2);
    t.equal(
      f3.client.tracker.get("apps/v1", "replicasets", NS, old.metadata.name).spec?.replicas as unknown,
      2,
    );
    t.same(await f3.eventMessages(), [
      `ScalingReplicaSet: Scaled down replica set ${old.metadata.name} from 3 to 2`,
    ]);
  },
);

t.test("old replicas that are not available go first (cleanupUnhealthyReplicas)", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web", { replicas: 4, maxSurge: 0, maxUnavailable: 1, image: "img:3" });
  d.metadata.annotations = { [REVISION_ANNOTATION]: "3" };
  const older = newReplicaSet(d, {
    replicas: 2,
    revision: 1,
    image: "img:1",
    available: 0,
    desired: 4,
    maxReplicas: 4,
  });
  const old = newReplicaSet(d, {
    replicas: 2,
    revision: 2,
    image: "img:2",
    desired: 4,
    maxReplicas: 4,
    createdSecondsAfterT0: 5,
  });
  const neu = newReplicaSet(d, {
    replicas: 0,
    revision: 3,
    image: "img:3",
    desired: 4,
    maxReplicas: 4,
    createdSecondsAfterT0: 9,
  });
  f.add(d, older, old, neu);
  await f.sync(d);
  const get = (n: string) =>
    f.client.tracker.get("apps/v1", "replicasets", NS, n).spec as { replicas: number };
  // maxScaledDown = 4 - 3 - 0 = 1: one unhealthy replica of the oldest; available 2 > 3? no more.
  t.equal(get(older.metadata.name).replicas, 1);
  t.equal(get(old.metadata.name).replicas, 2);
});

t.test("a scaling event mid-rollout is shared in proportion (GetProportion)", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web", { replicas: 20, maxSurge: 3, maxUnavailable: 2, image: "img:2" });
  d.metadata.annotations = { [REVISION_ANNOTATION]: "2" };
  d.status = { replicas: 13 };
  const old = newReplicaSet(d, { replicas: 8, revision: 1, image: "img:1", desired: 10, maxReplicas: 13 });
  const neu = newReplicaSet(d, {
    replicas: 5,
    revision: 2,
    image: "img:2",
    desired: 10,
    maxReplicas: 13,
    createdSecondsAfterT0: 10,
  });
  f.add(d, old, neu);
  await f.sync(d);
  const get = (n: string) => f.client.tracker.get("apps/v1", "replicasets", NS, n);
  t.equal(
    get(old.metadata.name).spec && (get(old.metadata.name).spec as { replicas: number }).replicas,
    14,
    "8*23/13 = 14.15",
  );
  t.equal((get(neu.metadata.name).spec as { replicas: number }).replicas, 9, "the other 4");
  t.same(get(neu.metadata.name).metadata.annotations?.["deployment.kubernetes.io/desired-replicas"], "20");
  t.same(get(neu.metadata.name).metadata.annotations?.["deployment.kubernetes.io/max-replicas"], "23");
  t.same(await f.eventMessages(), [
    `ScalingReplicaSet: Scaled up replica set ${old.metadata.name} from 8 to 14`,
    `ScalingReplicaSet: Scaled up replica set ${neu.metadata.name} from 5 to 9`,
  ]);
});

t.test("Recreate scales old to zero, waits for old pods, then creates the new ReplicaSet", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web", { strategy: "Recreate", replicas: 2, image: "img:2" });
  d.metadata.annotations = { [REVISION_ANNOTATION]: "1" };
  const old = newReplicaSet(d, { replicas: 2, revision: 1, image: "img:1", desired: 2, maxReplicas: 2 });
  f.add(d, old);
  await f.sync(d);
  t.same(
    f.writes().filter((w) => w.startsWith("create")),
    [],
    "no new ReplicaSet yet",
  );
  t.equal(
    (f.client.tracker.get("apps/v1", "replicasets", NS, old.metadata.name).spec as { replicas: number })
      .replicas,
    0,
  );

  // Old ReplicaSet at zero but a pod still running: wait.
  const f2 = new Fixture();
  t.teardown(() => f2.close());
  const drained = newReplicaSet(d, { replicas: 0, revision: 1, image: "img:1", desired: 2, maxReplicas: 2 });
  f2.add(d, drained, newPod(drained, "p1"));
  await f2.sync(d);
  t.same(
    f2.writes().filter((w) => w.startsWith("create")),
    [],
    "a running old pod holds the new ReplicaSet back",
  );
  // A finished pod does not.
  const f3 = new Fixture();
  t.teardown(() => f3.close());
  f3.add(d, drained, newPod(drained, "p1", "Succeeded"));
  await f3.sync(d);
  const created = f3.replicaSets().find((rs) => rs.metadata.name !== drained.metadata.name);
  t.equal(created?.spec.replicas, 2);
  t.equal(
    created?.metadata.annotations?.["deployment.kubernetes.io/max-replicas"],
    "2",
    "no surge for Recreate",
  );
});

t.test("a paused Deployment scales but does not roll out; Progressing says DeploymentPaused", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web", { replicas: 5, paused: true, image: "img:2" });
  d.metadata.annotations = { [REVISION_ANNOTATION]: "1" };
  const old = newReplicaSet(d, { replicas: 3, revision: 1, image: "img:1", desired: 3, maxReplicas: 4 });
  f.add(d, old);
  await f.sync(d);
  t.equal(f.replicaSets().length, 1, "no new ReplicaSet");
  t.equal(
    (f.client.tracker.get("apps/v1", "replicasets", NS, old.metadata.name).spec as { replicas: number })
      .replicas,
    5,
  );
  t.match(getDeploymentCondition(f.deployment("web").status, "Progressing"), {
    status: "Unknown",
    reason: "DeploymentPaused",
    message: "Deployment is paused",
  });
  // Resumed: DeploymentResumed, then the rollout goes on.
  const f2 = new Fixture();
  t.teardown(() => f2.close());
  const resumed = structuredClone(d);
  delete resumed.spec.paused;
  resumed.status = {
    conditions: [
      newDeploymentCondition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", T0),
    ],
  };
  f2.add(resumed, {
    ...old,
    spec: { ...old.spec, replicas: 5 },
    metadata: {
      ...old.metadata,
      annotations: {
        [REVISION_ANNOTATION]: "1",
        "deployment.kubernetes.io/desired-replicas": "5",
        "deployment.kubernetes.io/max-replicas": "7",
      },
    },
  });
  f2.clock.step(2000);
  await f2.sync(resumed);
  t.equal(f2.replicaSets().length, 2, "the new ReplicaSet");
  const firstStatus = f2.client.writes().find((a) => a.subresource === "status")?.object;
  t.match(getDeploymentCondition(firstStatus?.status as DeploymentStatus, "Progressing"), {
    status: "Unknown",
    reason: "DeploymentResumed",
    message: "Deployment is resumed",
  });
});

t.test("revisionHistoryLimit deletes the oldest scaled-down ReplicaSets once complete", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web", { replicas: 2, revisionHistoryLimit: 1, image: "img:4" });
  d.metadata.annotations = { [REVISION_ANNOTATION]: "4" };
  d.status = {
    observedGeneration: 1,
    replicas: 2,
    updatedReplicas: 2,
    availableReplicas: 2,
    readyReplicas: 2,
  };
  const rs1 = newReplicaSet(d, { replicas: 0, revision: 1, image: "img:1", createdSecondsAfterT0: 1 });
  const rs2 = newReplicaSet(d, { replicas: 0, revision: 3, image: "img:2", createdSecondsAfterT0: 2 });
  const rs3 = newReplicaSet(d, { replicas: 0, revision: 2, image: "img:3", createdSecondsAfterT0: 3 });
  const cur = newReplicaSet(d, {
    replicas: 2,
    revision: 4,
    image: "img:4",
    desired: 2,
    maxReplicas: 3,
    createdSecondsAfterT0: 4,
  });
  f.add(d, rs1, rs2, rs3, cur);
  await f.sync(d);
  const deleted = f.writes().filter((w) => w.startsWith("delete"));
  t.same(
    deleted,
    [`delete replicasets ${rs1.metadata.name}`, `delete replicasets ${rs3.metadata.name}`],
    "lowest revisions first",
  );
});

t.test("orphans matching the selector are adopted", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web");
  d.metadata.annotations = { [REVISION_ANNOTATION]: "1" };
  const orphan = newReplicaSet(d, { replicas: 3, revision: 1, owned: false, desired: 3, maxReplicas: 4 });
  f.add(d, orphan);
  await f.sync(d);
  t.match(f.writes()[0], `patch replicasets ${orphan.metadata.name}`);
  t.match(f.client.tracker.get("apps/v1", "replicasets", NS, orphan.metadata.name).metadata.ownerReferences, [
    { uid: "uid-web", controller: true },
  ]);
  t.equal(f.replicaSets().length, 1, "the adopted one is the new ReplicaSet: none created");
});

t.test("a hash collision bumps status.collisionCount and retries", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web");
  const hash = computeHash(d.spec.template);
  // Someone else's ReplicaSet holds the name the new one would take.
  const squatter = newReplicaSet(newDeployment("web", { image: "other" }), {
    replicas: 1,
    image: "other",
    owned: false,
  });
  squatter.metadata.name = `web-${hash}`;
  squatter.metadata.labels = { app: "else" };
  f.add(d, squatter);
  await t.rejects(f.sync(d), { reason: "AlreadyExists" });
  t.equal(f.deployment("web").status?.collisionCount, 1);
  t.not(computeHash(d.spec.template, 1), hash, "the next attempt gets another name");
});

t.test("a create refused by a terminating namespace is neither an event nor a condition", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web");
  f.add(d);
  // As the API server's NamespaceLifecycle admission refuses it: the cause's type is its `reason`.
  const refused = new ApiError(403, {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    reason: "Forbidden",
    code: 403,
    message: "unable to create new content in namespace because it is being terminated",
    details: { causes: [{ reason: "NamespaceTerminating", field: "metadata.namespace" }] },
  });
  f.client.prependReactor("create", "replicasets", () => ({ handled: true, error: refused }));
  await t.rejects(f.sync(d), /being terminated/);
  t.same(f.writes(), [`create replicasets web-${computeHash(d.spec.template)}`], "no status write");
  t.same(await f.eventMessages(), [], "no ReplicaSetCreateError event");
});

t.test(
  "no progress for progressDeadlineSeconds: ProgressDeadlineExceeded; before that, a requeue",
  async (t) => {
    const f = new Fixture();
    t.teardown(() => f.close());
    const d = newDeployment("web", { replicas: 3, progressDeadlineSeconds: 10 });
    d.metadata.annotations = { [REVISION_ANNOTATION]: "1" };
    const rs = newReplicaSet(d, { replicas: 3, revision: 1, available: 0, desired: 3, maxReplicas: 4 });
    rs.status = { replicas: 3, observedGeneration: 1 };
    const status: DeploymentStatus = {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      unavailableReplicas: 3,
      conditions: [
        newDeploymentCondition(
          "Available",
          "False",
          "MinimumReplicasUnavailable",
          "Deployment does not have minimum availability.",
          T0,
        ),
        newDeploymentCondition(
          "Progressing",
          "True",
          "NewReplicaSetCreated",
          `Created new replica set "${rs.metadata.name}"`,
          T0,
        ),
      ],
    };
    d.status = status;
    f.add(d, rs);
    f.clock.step(3000);
    await f.sync(d);
    t.same(f.writes(), [], "nothing changed yet");
    t.equal(f.dc.queue.len(), 0);
    f.clock.step(8000); // the requeue, 7 s + 1 s after the sync
    t.equal(f.dc.queue.len(), 1, "requeued for when the deadline passes");
    await f.sync(d);
    const cond = getDeploymentCondition(f.deployment("web").status, "Progressing");
    t.match(cond, {
      status: "False",
      reason: "ProgressDeadlineExceeded",
      message: `ReplicaSet "${rs.metadata.name}" has timed out progressing.`,
    });
  },
);

t.test("status counts and Available from the ReplicaSets", async (t) => {
  const f = new Fixture();
  t.teardown(() => f.close());
  const d = newDeployment("web", { replicas: 4, image: "img:2", generation: 3 });
  d.metadata.annotations = { [REVISION_ANNOTATION]: "2" };
  const old = newReplicaSet(d, { replicas: 2, revision: 1, image: "img:1", desired: 4, maxReplicas: 5 });
  const neu = newReplicaSet(d, {
    replicas: 3,
    revision: 2,
    image: "img:2",
    available: 1,
    desired: 4,
    maxReplicas: 5,
    createdSecondsAfterT0: 5,
  });
  f.add(d, old, neu);
  await f.sync(d);
  const s = f.deployment("web").status;
  t.match(s, {
    observedGeneration: 3,
    replicas: 5,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    unavailableReplicas: 2,
  });
  t.match(
    getDeploymentCondition(s, "Available"),
    { status: "True", reason: "MinimumReplicasAvailable" },
    "3 >= 4 - 1",
  );
  // FoundNewReplicaSet first (no Progressing condition yet), then progress over the old status.
  t.match(getDeploymentCondition(s, "Progressing"), {
    status: "True",
    reason: "ReplicaSetUpdated",
    message: `ReplicaSet "${neu.metadata.name}" is progressing.`,
  });
});

t.test(
  "a template equal to an old ReplicaSet's (kubectl rollout undo) reuses it as the next revision",
  async (t) => {
    const f = new Fixture();
    t.teardown(() => f.close());
    const d = newDeployment("web", { replicas: 2, image: "img:1" });
    d.metadata.annotations = { [REVISION_ANNOTATION]: "2" };
    // kubectl sends the template with Go's empty fields.
    (d.spec.template.metadata as Record<string, unknown>).creationTimestamp = null;
    const rs1 = newReplicaSet(d, { replicas: 0, revision: 1, image: "img:1", desired: 2, maxReplicas: 3 });
    const rs2 = newReplicaSet(d, {
      replicas: 2,
      revision: 2,
      image: "img:2",
      desired: 2,
      maxReplicas: 3,
      createdSecondsAfterT0: 5,
    });
    f.add(d, rs1, rs2);
    await f.sync(d);
    const again = f.client.tracker.get("apps/v1", "replicasets", NS, rs1.metadata.name);
    t.equal(again.metadata.annotations?.[REVISION_ANNOTATION], "3");
    t.equal(again.metadata.annotations?.[REVISION_HISTORY_ANNOTATION], "1");
    t.equal(f.replicaSets().length, 2, "no ReplicaSet created");
    // The next sync carries the revision to the Deployment and scales rs1 up.
    const f2 = new Fixture();
    t.teardown(() => f2.close());
    f2.add(d, again as typeof rs1, rs2);
    await f2.sync(d);
    t.equal(f2.deployment("web").metadata.annotations?.[REVISION_ANNOTATION], "3");
    t.equal(
      (f2.client.tracker.get("apps/v1", "replicasets", NS, rs1.metadata.name).spec as { replicas: number })
        .replicas,
      1,
    );
  },
);
