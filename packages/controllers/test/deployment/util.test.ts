/** The Deployment controller's util package: fenceposts, proportions, hash, annotations, conditions. */
import t from "tap";
import type { ReplicaSet } from "../../src/deployment/types.js";
import {
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  setNewReplicaSetAnnotations,
} from "../../src/deployment/util/annotations.js";
import {
  getDeploymentCondition,
  newDeploymentCondition,
  setDeploymentCondition,
} from "../../src/deployment/util/conditions.js";
import { equalIgnoreHash } from "../../src/deployment/util/hash.js";
import { deploymentTimedOut } from "../../src/deployment/util/progress.js";
import {
  getProportion,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  resolveFenceposts,
  roundToInt32,
} from "../../src/deployment/util/replicas.js";
import { findActiveOrLatest, findNewReplicaSet } from "../../src/deployment/util/replicasets.js";
import { computeHash, fnv32a, safeEncodeString } from "../../src/util/hash.js";
import { newDeployment, newReplicaSet, T0 } from "./fixtures.js";

t.test("ResolveFenceposts rounds surge up and unavailable down, never both zero", async (t) => {
  t.same(resolveFenceposts("25%", "25%", 10), [3, 2]);
  t.same(resolveFenceposts("25%", "25%", 3), [1, 0]);
  t.same(resolveFenceposts("0%", "25%", 3), [0, 1], "both zero: one unavailable");
  t.same(resolveFenceposts(0, 0, 5), [0, 1]);
  t.same(resolveFenceposts(2, "50%", 5), [2, 2]);
  t.throws(() => resolveFenceposts("2", 0, 5), /not a percentage/);
  t.same(resolveFenceposts("+50%", 0, 5), [3, 0], "a sign, as strconv.Atoi takes it");
  t.throws(() => resolveFenceposts("x%", 0, 5), /invalid value "x%": strconv.Atoi/);
  const d = newDeployment("d", { replicas: 3, maxUnavailable: 10 });
  t.equal(maxUnavailable(d), 3, "never more than the replicas");
  t.equal(maxSurge(newDeployment("r", { strategy: "Recreate" })), 0);
  t.equal(maxUnavailable(newDeployment("z", { replicas: 0 })), 0);
});

t.test("NewRSNewReplicas grows the new ReplicaSet within the surge", async (t) => {
  const d = newDeployment("d", { replicas: 10, maxSurge: "30%" }); // surge 3
  const old = newReplicaSet(d, { replicas: 10, image: "img:0" });
  const neu = newReplicaSet(d, { replicas: 0 });
  t.equal(newRSNewReplicas(d, [old, neu], neu), 3);
  const neu2 = { ...neu, spec: { ...neu.spec, replicas: 3 } };
  t.equal(newRSNewReplicas(d, [old, neu2], neu2), 3, "at replicas+surge: no growth");
  const old2 = { ...old, spec: { ...old.spec, replicas: 2 } };
  t.equal(newRSNewReplicas(d, [old2, neu2], neu2), 10, "never past the desired count");
  t.equal(newRSNewReplicas(newDeployment("r", { strategy: "Recreate", replicas: 4 }), [neu], neu), 4);
});

t.test("GetProportion shares a scaling event by size and keeps within bounds", async (t) => {
  const d = newDeployment("d", { replicas: 20, maxSurge: 3 });
  const rs = newReplicaSet(d, { replicas: 8, maxReplicas: 13 });
  // 8 * 23 / 13 = 14.15 -> 14: six more.
  t.equal(getProportion(rs, d, 10, 0), 6);
  t.equal(getProportion(rs, d, 10, 6), 4, "no more than is left to add");
  const down = newDeployment("d", { replicas: 5, maxSurge: 3 });
  // 8 * 8 / 13 = 4.92 -> 5: three fewer.
  t.equal(getProportion(rs, down, -5, 0), -3);
  t.equal(getProportion(rs, newDeployment("d", { replicas: 0 }), -8, 0), -8, "to zero: all of it");
  t.equal(roundToInt32(-2.5), -3, "half away from zero, as math.Round");
  t.equal(roundToInt32(2.5), 3);
});

t.test("ComputeHash: SafeEncodeString of FNV-32a, salted by the collision count", async (t) => {
  t.equal(fnv32a(new TextEncoder().encode("")), 0x811c9dc5);
  t.equal(fnv32a(new TextEncoder().encode("a")), 0xe40c292c, "FNV-1a test vector");
  // '0' is 48, 48 % 27 = 21: the digits map to kube's familiar hash letters.
  t.equal(safeEncodeString("0123456789"), "456789bcdf");
  const tpl = newDeployment("d").spec.template;
  const h = computeHash(tpl);
  t.match(h, /^[456789bcdf]{1,10}$/);
  t.equal(computeHash(structuredClone(tpl)), h, "stable");
  t.not(computeHash(tpl, 1), h, "a collision count changes it");
  t.not(computeHash(tpl, 1), computeHash(tpl, 2));
  const noisy = {
    metadata: { labels: { app: "d" }, creationTimestamp: null },
    spec: { containers: [{ name: "c", image: "img:1", resources: {} }] },
  };
  t.equal(computeHash(noisy as never), h, "kubectl's null and empty fields hash the same");
  t.ok(
    equalIgnoreHash(noisy as never, { ...tpl, metadata: { labels: { app: "d", "pod-template-hash": "x" } } }),
  );
  t.notOk(equalIgnoreHash(tpl, newDeployment("d", { image: "img:2" }).spec.template));
});

t.test("SetNewReplicaSetAnnotations: revision, history, copied annotations", async (t) => {
  const d = newDeployment("d", { replicas: 4, maxSurge: 1 });
  d.metadata.annotations = {
    "kubernetes.io/change-cause": "v2",
    "kubectl.kubernetes.io/last-applied-configuration": "{}",
    [REVISION_ANNOTATION]: "9",
  };
  const rs = newReplicaSet(d, { replicas: 0 });
  t.ok(setNewReplicaSetAnnotations(d, rs, "1", false, 1));
  t.same(rs.metadata.annotations, {
    "kubernetes.io/change-cause": "v2",
    [REVISION_ANNOTATION]: "1",
    "deployment.kubernetes.io/desired-replicas": "4",
    "deployment.kubernetes.io/max-replicas": "5",
  });
  t.notOk(setNewReplicaSetAnnotations(d, rs, "1", true, 1), "nothing new");
  t.ok(setNewReplicaSetAnnotations(d, rs, "3", true, 1), "reused as a later revision");
  t.equal(rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION], "1");
  setNewReplicaSetAnnotations(d, rs, "5", true, 1);
  t.equal(rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION], "1,3");
  t.equal(rs.metadata.annotations?.[REVISION_ANNOTATION], "5");
  const limited = newReplicaSet(d, { replicas: 0, revision: 7 });
  (limited.metadata.annotations as Record<string, string>)[REVISION_HISTORY_ANNOTATION] = "1,2,3";
  setNewReplicaSetAnnotations(d, limited, "8", true, 1, 6);
  t.equal(
    limited.metadata.annotations?.[REVISION_HISTORY_ANNOTATION],
    "2,3,7",
    "oldest dropped at the limit",
  );
});

t.test("SetDeploymentCondition keeps times unless something changes", async (t) => {
  const status = {};
  setDeploymentCondition(status, newDeploymentCondition("Progressing", "True", "A", "m", T0));
  setDeploymentCondition(status, newDeploymentCondition("Progressing", "True", "A", "other", T0 + 5000));
  t.equal(
    getDeploymentCondition(status, "Progressing")?.lastUpdateTime,
    "2025-01-01T00:00:00Z",
    "same status and reason: untouched",
  );
  setDeploymentCondition(status, newDeploymentCondition("Progressing", "True", "B", "m", T0 + 5000));
  const c = getDeploymentCondition(status, "Progressing");
  t.equal(c?.lastUpdateTime, "2025-01-01T00:00:05Z");
  t.equal(c?.lastTransitionTime, "2025-01-01T00:00:00Z", "same status: transition time kept");
});

t.test("DeploymentTimedOut counts from the Progressing condition's lastUpdateTime", async (t) => {
  const d = newDeployment("d", { progressDeadlineSeconds: 10 });
  const status = {
    conditions: [newDeploymentCondition("Progressing", "True", "ReplicaSetUpdated", "m", T0)],
  };
  t.notOk(deploymentTimedOut(d, status, T0 + 10_000));
  t.ok(deploymentTimedOut(d, status, T0 + 10_001));
  const done = {
    conditions: [newDeploymentCondition("Progressing", "True", "NewReplicaSetAvailable", "m", T0)],
  };
  t.notOk(deploymentTimedOut(d, done, T0 + 60_000), "a completed rollout never times out");
});

t.test("FindNewReplicaSet and FindActiveOrLatest", async (t) => {
  const d = newDeployment("d");
  const a = newReplicaSet(d, { replicas: 0, createdSecondsAfterT0: 5 });
  const b: ReplicaSet = {
    ...newReplicaSet(d, { replicas: 0, createdSecondsAfterT0: 1 }),
    metadata: { ...a.metadata, name: "older", uid: "u2", creationTimestamp: new Date(T0).toISOString() },
  };
  t.equal(findNewReplicaSet(d, [a, b])?.metadata.name, "older", "the oldest of equal templates");
  const old1 = newReplicaSet(d, { replicas: 0, image: "x", createdSecondsAfterT0: 1 });
  const old2 = newReplicaSet(d, { replicas: 0, image: "y", createdSecondsAfterT0: 2 });
  t.equal(
    findActiveOrLatest(undefined, [old1, old2])?.metadata.name,
    old2.metadata.name,
    "none active: the newest",
  );
  const active = { ...old1, spec: { ...old1.spec, replicas: 2 } };
  t.equal(findActiveOrLatest(a, [active, old2])?.metadata.name, old1.metadata.name, "the one active");
  const both = { ...a, spec: { ...a.spec, replicas: 1 } };
  t.equal(findActiveOrLatest(both, [active]), undefined, "several active: none");
});
