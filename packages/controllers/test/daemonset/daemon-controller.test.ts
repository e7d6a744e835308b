/**
 * The DaemonSet controller's sync in client-go's style: fixture caches, sync(key), then the
 * actions recorded by the fake client and the objects left in its tracker (kube's
 * daemon_controller_test.go and update_test.go cases).
 */
import type { Pod } from "@skiff/api";
import t from "tap";
import type { DaemonSet } from "../../src/daemonset/types.js";
import { hashOf, KEY, newDaemonPod, newDS, newFixture, newNode, readyPod, T0 } from "./fixtures.js";

const deletedNames = (f: ReturnType<typeof newFixture>) =>
  f
    .acts("delete", "pods")
    .map((a) => a.name)
    .sort();

t.test("a pod for each node that should run one, bound through node affinity, with a revision", async (t) => {
  const f = newFixture();
  const ds = newDS({
    template: {
      ...newDS().spec.template,
      spec: { ...newDS().spec.template.spec, nodeSelector: { disk: "ssd" } } as Pod["spec"],
    },
  });
  f.seed(
    ds,
    newNode("n1", { labels: { disk: "ssd" } }),
    newNode("n2", { labels: { disk: "ssd" } }),
    newNode("n3"),
  );
  await f.c.sync(KEY);
  const pods = f.pods();
  t.equal(pods.length, 2);
  const hash = hashOf(ds);
  const nodes = pods.map(
    (p) =>
      p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]
        ?.matchFields?.[0]?.values?.[0],
  );
  t.same(nodes.sort(), ["n1", "n2"], "one per node with disk=ssd, named by matchFields metadata.name");
  for (const p of pods) {
    t.match(p.metadata.name, /^web-/);
    t.same(p.metadata.labels, { app: "web", "controller-revision-hash": hash });
    t.equal(p.spec.nodeName, undefined, "left to the scheduler to bind");
    t.match(p.metadata.ownerReferences, [{ kind: "DaemonSet", uid: "uid-web", controller: true }]);
    t.same(
      p.spec.tolerations?.map((x) => `${x.key}:${x.effect}`),
      [
        "node.kubernetes.io/not-ready:NoExecute",
        "node.kubernetes.io/unreachable:NoExecute",
        "node.kubernetes.io/disk-pressure:NoSchedule",
        "node.kubernetes.io/memory-pressure:NoSchedule",
        "node.kubernetes.io/pid-pressure:NoSchedule",
        "node.kubernetes.io/unschedulable:NoSchedule",
      ],
    );
    t.notOk(
      p.spec.tolerations?.some((x) => x.tolerationSeconds !== undefined),
      "never evicted for those taints",
    );
  }
  const [rev] = f.revisions();
  t.equal(rev?.metadata.name, `web-${hash}`);
  t.equal(rev?.revision, 1);
  t.same(rev?.data, { spec: { template: { ...ds.spec.template, $patch: "replace" } } });
  t.match(rev?.metadata.labels, { app: "web", "controller-revision-hash": hash });
  t.same(f.c.expectations.get(KEY)?.add, 2);
  const status = f.ds().status;
  t.match(status, {
    desiredNumberScheduled: 2,
    currentNumberScheduled: 0,
    numberUnavailable: 2,
    observedGeneration: 1,
  });
  await f.flushEvents();
  t.equal(f.events.filter((e) => e.reason === "SuccessfulCreate").length, 2);
});

t.test("expectations hold off more creates until the informer has seen the last ones", async (t) => {
  const f = newFixture();
  f.seed(newDS(), newNode("n1"), newNode("n2"));
  await f.c.sync(KEY);
  t.equal(f.acts("create", "pods").length, 2);
  f.client.clearActions();
  await f.c.sync(KEY);
  t.equal(f.acts("create", "pods").length, 0, "the cache shows no pods, but 2 are expected");
  f.observe();
  f.c.expectations.creationObserved(KEY);
  f.c.expectations.creationObserved(KEY);
  await f.c.sync(KEY);
  t.equal(f.acts("create", "pods").length, 0, "both seen: nothing missing");
  t.equal(f.ds().status?.currentNumberScheduled, 2);
});

t.test(
  "taints: NoSchedule keeps new pods off but lets one stay; NoExecute evicts; tolerations count",
  async (t) => {
    const f = newFixture();
    const ds = newDS();
    const noSchedule = { key: "dedicated", value: "db", effect: "NoSchedule" as const };
    const noExecute = { key: "broken", effect: "NoExecute" as const };
    f.seed(
      ds,
      newNode("fresh", { taints: [noSchedule] }),
      newNode("running", { taints: [noSchedule] }),
      newNode("evicting", { taints: [noExecute] }),
      newNode("cordoned", { taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] }),
      readyPod(ds, "web-running", "running"),
      readyPod(ds, "web-evicting", "evicting"),
    );
    await f.c.sync(KEY);
    const created = f
      .pods()
      .filter((p) => p.metadata.name !== "web-running" && p.metadata.name !== "web-evicting");
    t.same(
      created.map(
        (p) =>
          p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]
            ?.matchFields?.[0]?.values?.[0],
      ),
      ["cordoned"],
      "daemon pods tolerate a cordoned node, not the NoSchedule taint",
    );
    t.same(deletedNames(f), ["web-evicting"], "the NoExecute taint removes the pod; NoSchedule does not");
    t.match(f.ds().status, { desiredNumberScheduled: 1, numberMisscheduled: 2 });

    const g = newFixture();
    const tolerant = newDS({
      template: {
        ...ds.spec.template,
        spec: {
          ...ds.spec.template.spec,
          tolerations: [{ key: "dedicated", operator: "Exists" }],
        } as Pod["spec"],
      },
    });
    g.seed(tolerant, newNode("fresh", { taints: [noSchedule] }));
    await g.c.sync(KEY);
    t.equal(g.pods().length, 1, "a toleration in the template lets the pod onto the tainted node");
    t.match(g.pods()[0]?.spec.tolerations, [{ key: "dedicated", operator: "Exists" }]);
  },
);

t.test("a pod on a node that no longer matches is deleted, and counted misscheduled meanwhile", async (t) => {
  const f = newFixture();
  const ds = newDS({
    template: {
      ...newDS().spec.template,
      spec: { ...newDS().spec.template.spec, nodeSelector: { role: "edge" } } as Pod["spec"],
    },
  });
  f.seed(ds, newNode("n1"), readyPod(ds, "web-a", "n1"));
  await f.c.sync(KEY);
  t.same(deletedNames(f), ["web-a"]);
  t.match(f.ds().status, { desiredNumberScheduled: 0, numberMisscheduled: 1 });
  await f.flushEvents();
  t.equal(f.events.filter((e) => e.reason === "SuccessfulDelete").length, 1);
});

t.test("failed daemon pods are deleted with a doubling backoff per node", async (t) => {
  const f = newFixture();
  const ds = newDS();
  f.seed(ds, newNode("n1"), newDaemonPod(ds, "web-f1", "n1", { phase: "Failed" }));
  await f.c.sync(KEY);
  t.same(deletedNames(f), ["web-f1"]);
  await f.flushEvents();
  t.match(
    f.events.find((e) => e.reason === "FailedDaemonPod")?.message,
    /Found failed daemon pod ns\/web-f1 on node n1, will try to kill it/,
  );

  // The replacement fails too, half a second later: inside the 1 s backoff it stays.
  f.client.clearActions();
  f.observe();
  f.c.expectations.deleteExpectations(KEY);
  f.clock.step(500);
  f.seed(newDaemonPod(ds, "web-f2", "n1", { phase: "Failed" }));
  await f.c.sync(KEY);
  t.same(deletedNames(f), [], "in backoff: not deleted yet");
  t.equal(f.c.failedPodsBackoff.get(`uid-web/0/n1`), 1000);
  f.clock.step(600);
  f.c.expectations.deleteExpectations(KEY);
  await f.c.sync(KEY);
  t.same(deletedNames(f), ["web-f2"], "once the backoff has passed");
  t.equal(f.c.failedPodsBackoff.get(`uid-web/0/n1`), 2000, "the next delay doubles");
});

t.test("surplus pods on a node: the oldest stays; succeeded pods go", async (t) => {
  const f = newFixture();
  const ds = newDS();
  f.seed(
    ds,
    newNode("n1"),
    newNode("n2"),
    readyPod(ds, "web-old", "n1", { created: T0 - 7_200_000 }),
    readyPod(ds, "web-new", "n1", { created: T0 - 60_000 }),
    readyPod(ds, "web-pending", "n1", { created: T0 - 9_000_000, unbound: true }),
    newDaemonPod(ds, "web-done", "n2", { phase: "Succeeded" }),
  );
  await f.c.sync(KEY);
  t.same(deletedNames(f), ["web-done", "web-new", "web-pending"], "bound before unbound, then oldest first");
  t.equal(f.acts("create", "pods").length, 0, "n2 still has its (succeeded) pod until it is gone");
});

t.test("an unbound pod for a node that no longer exists is deleted", async (t) => {
  const f = newFixture();
  const ds = newDS();
  f.seed(
    ds,
    newNode("n1"),
    readyPod(ds, "web-a", "n1"),
    newDaemonPod(ds, "web-ghost", "gone", { unbound: true }),
  );
  await f.c.sync(KEY);
  t.same(deletedNames(f), ["web-ghost"]);
});

/** The DaemonSet as it was before its image changed. */
function oldTemplate(ds: DaemonSet): DaemonSet {
  const old = structuredClone(ds);
  (old.spec.template.spec as Pod["spec"]).containers = [{ name: "c", image: "agent:0" }];
  return old;
}

t.test("rolling update: unavailable old pods first, then available ones within maxUnavailable", async (t) => {
  const f = newFixture();
  const ds = newDS({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } } });
  const oldHash = hashOf(oldTemplate(ds));
  t.not(oldHash, hashOf(ds));
  f.seed(
    ds,
    ...["n1", "n2", "n3"].map((n) => newNode(n)),
    readyPod(ds, "web-1", "n1", { hash: oldHash }),
    newDaemonPod(ds, "web-2", "n2", { hash: oldHash }),
    readyPod(ds, "web-3", "n3", { hash: oldHash }),
  );
  await f.c.sync(KEY);
  t.same(deletedNames(f), ["web-2"], "the unavailable old pod uses the whole budget of 1");
  t.match(f.ds().status, { updatedNumberScheduled: 0, numberReady: 2, numberUnavailable: 1 });

  const g = newFixture();
  const wide = newDS({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "50%" } } });
  g.seed(
    wide,
    ...["n1", "n2", "n3", "n4"].map((n) => newNode(n)),
    ...[1, 2, 3, 4].map((i) => readyPod(wide, `web-${i}`, `n${i}`, { hash: oldHash })),
  );
  await g.c.sync(KEY);
  t.equal(deletedNames(g).length, 2, "50% of 4 nodes at a time");
  t.equal(g.acts("create", "pods").length, 0, "the manage loop recreates them in a later sync");
});

t.test(
  "rolling update with maxSurge: a new pod beside the old, the old deleted once the new is available",
  async (t) => {
    const f = newFixture();
    const ds = newDS({
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    });
    const oldHash = hashOf(oldTemplate(ds));
    f.seed(
      ds,
      newNode("n1"),
      newNode("n2"),
      readyPod(ds, "old-1", "n1", { hash: oldHash }),
      readyPod(ds, "old-2", "n2", { hash: oldHash }),
    );
    await f.c.sync(KEY);
    t.equal(f.acts("create", "pods").length, 1, "one node surges");
    t.same(deletedNames(f), []);
    const [surged] = f.pods().filter((p) => p.metadata.name.startsWith("web-"));
    const surgedNode = surged?.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms[0]?.matchFields?.[0]?.values?.[0] as string;

    // The new pod is bound and available: the manage loop deletes its old pod; the rolling update
    // waits for that deletion to be observed.
    f.client.clearActions();
    f.c.expectations.deleteExpectations(KEY);
    f.seed(readyPod(ds, surged?.metadata.name as string, surgedNode));
    await f.c.sync(KEY);
    const oldOne = surgedNode === "n1" ? "old-1" : "old-2";
    t.same(deletedNames(f), [oldOne]);
    t.equal(f.acts("create", "pods").length, 0, "not while the deletion is unobserved");
    f.client.clearActions();
    f.unseed(readyPod(ds, oldOne, surgedNode));
    f.c.expectations.deletionObserved(KEY);
    await f.c.sync(KEY);
    t.equal(f.acts("create", "pods").length, 1, "then the next node surges");
    t.same(deletedNames(f), []);
  },
);

t.test("OnDelete: a new template replaces no pod", async (t) => {
  const f = newFixture();
  const ds = newDS({ updateStrategy: { type: "OnDelete" } });
  f.seed(ds, newNode("n1"), readyPod(ds, "web-1", "n1", { hash: hashOf(oldTemplate(ds)) }));
  await f.c.sync(KEY);
  t.same(deletedNames(f), []);
  t.match(f.ds().status, { updatedNumberScheduled: 0, currentNumberScheduled: 1 });
});

t.test(
  "history: old revisions beyond the limit go, oldest first, unless a pod still uses them",
  async (t) => {
    const f = newFixture();
    const ds = newDS({ revisionHistoryLimit: 1 });
    const rev = (name: string, revision: number, image: string) => ({
      apiVersion: "apps/v1" as const,
      kind: "ControllerRevision" as const,
      metadata: {
        name,
        namespace: "ns",
        labels: { app: "web", "controller-revision-hash": name },
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "DaemonSet", name: "web", uid: "uid-web", controller: true },
        ],
      },
      data: { spec: { template: { ...newDS({}, image).spec.template, $patch: "replace" } } },
      revision,
    });
    f.seed(
      ds,
      newNode("n1"),
      readyPod(ds, "web-1", "n1", { hash: "r1" }),
      rev("r1", 1, "a"),
      rev("r2", 2, "b"),
      rev("r3", 3, "c"),
    );
    await f.c.sync(KEY);
    t.same(
      f.acts("delete", "controllerrevisions").map((a) => a.name),
      ["r2", "r3"],
      "r1 is live: a pod runs it",
    );
    const current = f.revisions().find((r) => r.metadata.name === `web-${hashOf(ds)}`);
    t.equal(current?.revision, 4, "the new current revision is numbered after the old ones");

    // The template goes back to r1's: r1 is renumbered, not duplicated.
    const g = newFixture();
    const back = newDS({}, "a");
    g.seed(back, newNode("n1"), rev("r1", 1, "a"), rev("r2", 2, "b"));
    await g.c.sync(KEY);
    t.equal(g.acts("create", "controllerrevisions").length, 0);
    t.equal((g.revisions().find((r) => r.metadata.name === "r1") as { revision: number }).revision, 3);
  },
);

t.test("a revision name taken by another template raises status.collisionCount", async (t) => {
  const f = newFixture();
  const ds = newDS();
  f.seed(ds, newNode("n1"), {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: { name: `web-${hashOf(ds)}`, namespace: "ns", labels: { other: "x" } },
    data: { something: "else" },
    revision: 1,
  });
  await t.rejects(f.c.sync(KEY), /already exists/);
  t.equal(f.ds().status?.collisionCount, 1);
  t.not(hashOf(f.ds()), hashOf(ds), "the next sync uses another name");
});

t.test("status: ready, available after minReadySeconds, updated, unavailable", async (t) => {
  const f = newFixture();
  const ds = newDS({ minReadySeconds: 30 });
  f.seed(
    ds,
    ...["n1", "n2", "n3", "n4"].map((n) => newNode(n)),
    readyPod(ds, "web-1", "n1", { readySince: T0 - 60_000 }),
    readyPod(ds, "web-2", "n2", { readySince: T0 - 10_000 }),
    readyPod(ds, "web-3", "n3", { hash: "stale", readySince: T0 - 60_000 }),
  );
  f.c.expectations.setExpectations(KEY, 1, 0); // a create in flight: status only
  await f.c.sync(KEY);
  t.equal(f.acts("create", "pods").length, 0);
  t.match(f.ds().status, {
    desiredNumberScheduled: 4,
    currentNumberScheduled: 3,
    numberReady: 3,
    numberAvailable: 2,
    updatedNumberScheduled: 2,
    numberUnavailable: 2,
    numberMisscheduled: 0,
  });
  t.equal(f.ds().status?.observedGeneration, undefined, "not raised while expectations are pending");
  t.equal(f.c.queue.len(), 0);
});

t.test("an empty selector selects all pods: a warning, nothing else", async (t) => {
  const f = newFixture();
  f.seed(newDS({ selector: {} }), newNode("n1"));
  await f.c.sync(KEY);
  t.equal(f.client.actions.filter((a) => a.verb !== "get" && a.verb !== "list").length, 0);
  await f.flushEvents();
  t.match(f.events, [{ reason: "SelectingAll", type: "Warning" }]);
});

t.test("a deleted DaemonSet forgets its expectations", async (t) => {
  const f = newFixture();
  f.c.expectations.setExpectations(KEY, 3, 0);
  await f.c.sync(KEY);
  t.equal(f.c.expectations.get(KEY), undefined);
});
