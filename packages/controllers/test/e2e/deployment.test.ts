/**
 * The Deployment controller with the ReplicaSet controller against a real API server, the
 * scheduler and hollow nodes, driven by the real kubectl 1.32 where users would use it: a
 * rollout of 3; a rolling update with maxUnavailable 0 that a pod watcher checks never drops
 * below 3 ready pods; `kubectl rollout history|undo|pause|resume|restart|status`; scaling;
 * Recreate never running old and new pods together; and a pod that can never be scheduled
 * ending in ProgressDeadlineExceeded.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "@skiff/api";
import { Informer } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { deploymentControllerDescriptor } from "../../src/deployment/descriptor.js";
import type { Deployment, ReplicaSet } from "../../src/deployment/types.js";
import { replicaSetControllerDescriptor } from "../../src/replicaset/descriptor.js";
import { isPodReady } from "../../src/util/pod.js";
import { startCluster } from "./cluster.js";

const KUBECTL = "/usr/bin/kubectl";
const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!existsSync(KUBECTL) && !inCI) {
  t.skip(`${KUBECTL} is not installed (this test drives the real kubectl; node scripts/setup.mjs)`);
  process.exit(0);
}

const c = await startCluster({
  nodes: 2,
  controllers: [deploymentControllerDescriptor, replicaSetControllerDescriptor],
});
const home = mkdtempSync(join(tmpdir(), "skiff-deploy-e2e-"));
t.teardown(async () => {
  await c.stop();
  rmSync(home, { recursive: true, force: true });
});
const NS = "deploy-e2e";
await c.namespace(NS);
const deployments = c.client.resource<Deployment>("apps/v1", "deployments", NS);
const replicaSets = c.client.resource<ReplicaSet>("apps/v1", "replicasets", NS);

/** kubectl with its own HOME and cache, in the test namespace; never throws. */
function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      ["--kubeconfig", c.kubeconfig, "--cache-dir", join(home, "cache"), "-n", NS, ...args],
      { env: { ...process.env, HOME: home }, timeout: 60_000, encoding: "utf8" },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    );
  });
}

async function kubectlOk(tt: Test, ...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  tt.equal(r.code, 0, `kubectl ${args.join(" ")}`, { stderr: r.stderr });
  return r.stdout;
}

function newDeployment(name: string, o: Partial<Deployment["spec"]> = {}): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "nginx:1" }] },
      },
      ...o,
    },
  };
}

/** kubectl rollout status's "done" test, on the API's object. */
async function waitRolledOut(name: string, replicas: number, what: string): Promise<Deployment> {
  let last: Deployment | undefined;
  await waitFor(
    async () => {
      last = await deployments.get(name);
      const s = last.status ?? {};
      return (
        (s.observedGeneration ?? 0) >= (last.metadata.generation ?? 0) &&
        s.updatedReplicas === replicas &&
        s.replicas === replicas &&
        s.availableReplicas === replicas &&
        s.conditions?.some((c) => c.type === "Progressing" && c.reason === "NewReplicaSetAvailable") === true
      );
    },
    { what, timeoutMs: 30_000 },
  );
  return last as Deployment;
}

const imageOf = (o: { spec: { template: { spec?: Pod["spec"] } } }) =>
  o.spec.template.spec?.containers[0]?.image;

/** The Deployment's ReplicaSets by revision. */
async function revisions(name: string): Promise<Map<string, ReplicaSet>> {
  const list = await replicaSets.list({ labelSelector: `app=${name}` });
  return new Map(
    list.items.map((rs) => [rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "", rs]),
  );
}

/** Watches the app's pods; `minReady` is the fewest ready, not-terminating pods seen once armed. */
function podWatcher(app: string) {
  const informer = new Informer<Pod>(c.client.resource<Pod>("v1", "pods", NS), {
    labelSelector: `app=${app}`,
  });
  const state = { armed: false, minReady: Number.POSITIVE_INFINITY, maxImages: 0 };
  const observe = () => {
    const live = informer.list().filter((p) => p.metadata.deletionTimestamp === undefined);
    const ready = live.filter(isPodReady).length;
    const images = new Set(
      informer
        .list()
        .filter((p) => p.status?.phase === "Running" || p.status?.phase === "Pending")
        .map((p) => p.spec.containers[0]?.image),
    );
    if (state.armed) {
      state.minReady = Math.min(state.minReady, ready);
      state.maxImages = Math.max(state.maxImages, images.size);
    }
  };
  informer.addEventHandler({ onAdd: observe, onUpdate: observe, onDelete: observe });
  informer.start();
  const arm = () => {
    state.armed = true;
    observe();
  };
  return { state, informer, arm };
}

t.test("a Deployment of 3 rolls out; kubectl rollout status agrees", async (t) => {
  await deployments.create(
    newDeployment("web", {
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    }),
  );
  const d = await waitRolledOut("web", 3, "web rolled out with 3 available");
  t.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
  const out = await kubectlOk(t, "rollout", "status", "deployment/web", "--timeout=30s");
  t.match(out, 'deployment "web" successfully rolled out');
  const [rs] = (await revisions("web")).values();
  t.match(rs?.metadata.name, /^web-[456789bcdf]+$/);
  t.equal(rs?.spec.selector.matchLabels?.["pod-template-hash"], rs?.metadata.name.slice("web-".length));
});

t.test("a rolling update with maxUnavailable 0 never has fewer than 3 ready pods", async (t) => {
  const w = podWatcher("web");
  t.teardown(() => w.informer.stop());
  await waitFor(async () => w.informer.hasSynced() && w.informer.list().filter(isPodReady).length === 3, {
    what: "the watcher sees 3 ready pods",
  });
  w.arm();
  await kubectlOk(t, "set", "image", "deployment/web", "c=nginx:2");
  const d = await waitRolledOut("web", 3, "the rolling update to nginx:2");
  t.equal(imageOf(d), "nginx:2");
  t.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "2");
  t.ok(w.state.minReady >= 3, `never below 3 ready pods (min seen ${w.state.minReady})`);
  const revs = await revisions("web");
  t.equal(revs.get("1")?.spec.replicas, 0, "the old ReplicaSet is scaled down, kept for history");
  t.equal(revs.get("2")?.spec.replicas, 3);
  const events = await c.client.resource("v1", "events", NS).list();
  const scaling = events.items.filter((e) => e.reason === "ScalingReplicaSet").map((e) => String(e.message));
  t.ok(
    scaling.some((m) => /^Scaled up replica set web-\w+ from 1 to 2$/.test(m)),
    "kube's scaling events",
  );
  t.ok(scaling.some((m) => /^Scaled down replica set web-\w+ from 3 to 2$/.test(m)));
});

t.test("kubectl rollout history and undo", async (t) => {
  const history = await kubectlOk(t, "rollout", "history", "deployment/web");
  t.match(history, /REVISION\s+CHANGE-CAUSE\s+1\s+<none>\s+2\s+<none>/);
  const rev1 = await kubectlOk(t, "rollout", "history", "deployment/web", "--revision=1");
  t.match(rev1, /Image:\s+nginx:1/);
  t.match(await kubectlOk(t, "rollout", "undo", "deployment/web"), "deployment.apps/web rolled back");
  const d = await waitRolledOut("web", 3, "rolled back to nginx:1");
  t.equal(imageOf(d), "nginx:1");
  t.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
  const revs = await revisions("web");
  t.equal(
    revs.get("3")?.metadata.annotations?.["deployment.kubernetes.io/revision-history"],
    "1",
    "revision 1's ReplicaSet reused",
  );
  t.equal(revs.size, 2, "no new ReplicaSet");
  t.match(await kubectlOk(t, "rollout", "history", "deployment/web"), /2\s+<none>\s+3\s+<none>/);
  const toRev2 = await kubectlOk(t, "rollout", "undo", "deployment/web", "--to-revision=2");
  t.match(toRev2, "rolled back");
  t.equal(imageOf(await waitRolledOut("web", 3, "rolled to revision 2")), "nginx:2");
});

t.test("pause holds a template change; resume rolls it out; restart rolls again", async (t) => {
  await kubectlOk(t, "rollout", "pause", "deployment/web");
  await kubectlOk(t, "set", "image", "deployment/web", "c=nginx:3");
  await waitFor(
    async () => {
      const d = await deployments.get("web");
      return (
        (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
        d.status?.conditions?.some((c) => c.type === "Progressing" && c.reason === "DeploymentPaused") ===
          true
      );
    },
    { what: "the paused Deployment's change observed" },
  );
  t.notOk(
    [...(await revisions("web")).values()].some((rs) => imageOf(rs) === "nginx:3"),
    "no ReplicaSet for the paused template",
  );
  const undo = await kubectl("rollout", "undo", "deployment/web");
  t.not(undo.code, 0, "kubectl refuses to undo a paused Deployment");
  await kubectlOk(t, "rollout", "resume", "deployment/web");
  t.equal(imageOf(await waitRolledOut("web", 3, "resumed rollout to nginx:3")), "nginx:3");

  await kubectlOk(t, "rollout", "restart", "deployment/web");
  const d = await waitRolledOut("web", 3, "the restart's rollout");
  t.ok(d.spec.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]);
  const rev = Number(d.metadata.annotations?.["deployment.kubernetes.io/revision"]);
  t.ok(rev >= 5, `a new revision (${rev})`);
});

t.test("kubectl scale: the ReplicaSet follows", async (t) => {
  await kubectlOk(t, "scale", "deployment/web", "--replicas=5");
  await waitRolledOut("web", 5, "scaled to 5");
  const d = await deployments.get("web");
  t.equal(d.status?.readyReplicas, 5);
  // kubectl describe finds the new ReplicaSet by comparing templates, as rollout undo does.
  const described = await kubectlOk(t, "describe", "deployment/web");
  t.match(described, /NewReplicaSet:\s+web-[456789bcdf]+ \(5\/5 replicas created\)/);
  t.match(described, /Replicas:\s+5 desired \| 5 updated \| 5 total \| 5 available \| 0 unavailable/);
});

t.test("Recreate never runs old and new pods together", async (t) => {
  await deployments.create(newDeployment("batch", { replicas: 2, strategy: { type: "Recreate" } }));
  await waitRolledOut("batch", 2, "batch rolled out");
  const w = podWatcher("batch");
  t.teardown(() => w.informer.stop());
  await waitFor(async () => w.informer.hasSynced(), { what: "the watcher synced" });
  w.arm();
  await deployments.patch(
    "batch",
    { spec: { template: { spec: { containers: [{ name: "c", image: "nginx:2" }] } } } },
    "strategic",
  );
  const d = await waitRolledOut("batch", 2, "batch recreated with nginx:2");
  t.equal(imageOf(d), "nginx:2");
  t.equal(w.state.maxImages, 1, "pods of one template at a time");
});

t.test("a pod that can never be scheduled ends in ProgressDeadlineExceeded", async (t) => {
  await deployments.create(
    newDeployment("stuck", {
      replicas: 1,
      progressDeadlineSeconds: 2,
      template: {
        metadata: { labels: { app: "stuck" } },
        spec: { containers: [{ name: "c", image: "nginx:1" }], nodeSelector: { "no-such-node": "true" } },
      },
    }),
  );
  await waitFor(
    async () =>
      (await deployments.get("stuck")).status?.conditions?.some(
        (c) => c.type === "Progressing" && c.status === "False" && c.reason === "ProgressDeadlineExceeded",
      ) === true,
    { what: "Progressing=False ProgressDeadlineExceeded", timeoutMs: 30_000 },
  );
  const d = await deployments.get("stuck");
  t.match(
    d.status?.conditions?.find((c) => c.type === "Available"),
    {
      status: "False",
      reason: "MinimumReplicasUnavailable",
    },
  );
  const r = await kubectl("rollout", "status", "deployment/stuck", "--timeout=10s");
  t.not(r.code, 0);
  t.match(r.stderr, 'deployment "stuck" exceeded its progress deadline');
});
