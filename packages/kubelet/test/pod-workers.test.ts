import t from "tap";
import { condition, harness, IMAGE, makePod, waitStatus } from "./pod-harness.js";

t.test("a pod goes to Running and Ready with its sandbox, config, labels and events", async (t) => {
  const pod = makePod("web", {
    containers: [
      {
        name: "c",
        image: "busybox",
        imagePullPolicy: "IfNotPresent",
        command: ["sleep"],
        args: ["3600"],
        resources: { requests: { cpu: "250m" }, limits: { cpu: "500m", memory: "64Mi" } },
      },
    ],
  });
  pod.status = { ...pod.status, qosClass: "Burstable" };
  const h = await harness([pod]);
  t.teardown(() => h.close());
  h.workers.updatePod(h.apiPod("web") ?? pod);
  const s = await waitStatus(
    h,
    "web",
    "Running and Ready",
    (s) => s.phase === "Running" && condition(s, "Ready")?.status === "True",
  );
  t.equal(condition(s, "PodScheduled")?.status, "True", "PodScheduled kept");
  t.equal(condition(s, "PodReadyToStartContainers")?.status, "True");
  t.equal(condition(s, "Initialized")?.status, "True");
  t.equal(condition(s, "ContainersReady")?.status, "True");
  const cs = s.containerStatuses?.[0];
  t.ok(cs?.state.running?.startedAt?.endsWith("Z"), "running with a startedAt");
  t.match(cs?.containerID, /^containerd:\/\/[0-9a-f]{64}$/);
  t.equal(cs?.image, "busybox");
  t.match(cs?.imageID, /^sha256:/);
  t.equal(cs?.restartCount, 0);
  t.equal(s.podIP, "10.244.0.2");
  t.same(s.hostIPs, [{ ip: "192.168.0.10" }]);
  t.equal(s.qosClass, "Burstable");
  t.equal(s.startTime, "2026-01-01T00:00:00Z");

  const id = cs?.containerID?.slice("containerd://".length) ?? "";
  const cfg = h.runtime.configOf(id);
  t.same(cfg?.args, ["sleep", "3600"]);
  t.equal(cfg?.image, IMAGE, "the runtime's reference of the image");
  t.equal(cfg?.cgroupsPath, `/skiff-node-a/kubepods/burstable/poduid-web/${id}`);
  t.equal(cfg?.netnsPath, "/var/run/netns/fake-uid-web");
  t.equal(cfg?.utsPath, h.uts.pods.get("uid-web")?.path, "joins the pod's UTS namespace");
  t.equal(h.uts.pods.get("uid-web")?.hostname, "web", "whose hostname is the pod's name");
  t.equal(cfg?.hostname, "web");
  t.equal(cfg?.memoryLimitBytes, 64 * 1024 * 1024);
  t.equal(cfg?.cpuLimitCores, 0.5);
  t.equal(cfg?.cpuShares, 256);
  t.equal(cfg?.logPath, "/logs/default_web_uid-web/c/0.log");
  t.same(cfg?.env, [
    { name: "CONTAINER", value: "c" },
    { name: "POD_IP", value: "10.244.0.2" },
  ]);
  t.same(cfg?.mounts, [{ hostPath: "/pods/uid-web/volumes/data", containerPath: "/data", readOnly: false }]);
  t.match(cfg?.labels, {
    "io.kubernetes.pod.uid": "uid-web",
    "io.kubernetes.pod.name": "web",
    "io.kubernetes.pod.namespace": "default",
    "io.kubernetes.container.name": "c",
    "io.kubernetes.container.restartCount": "0",
    "io.kubernetes.container.type": "regular",
    "io.kubernetes.pod.terminationGracePeriod": "30",
  });
  t.same(
    h.events.map((e) => [e.reason, e.message, e.fieldPath]),
    [
      ["Pulled", 'Container image "busybox" already present on machine', "spec.containers{c}"],
      ["Created", "Created container c", "spec.containers{c}"],
      ["Started", "Started container c", "spec.containers{c}"],
    ],
  );
  t.ok(h.cgroups.pods.has("uid-web") && h.network.pods.has("uid-web") && h.volumes.setUp.has("uid-web"));
  t.ok(h.probes.added.includes("uid-web"), "probes started for the pod");
});

t.test("the status patch is a strategic merge patch on pods/status with the uid precondition", async (t) => {
  const h = await harness([makePod("p")]);
  t.teardown(() => h.close());
  h.workers.updatePod(makePod("p"));
  await waitStatus(h, "p", "Running", (s) => s.phase === "Running");
  const patches = h.client.actions.filter((a) => a.verb === "patch");
  t.ok(patches.length > 0);
  for (const a of patches) {
    t.equal(a.subresource, "status");
    t.equal(a.patchType, "strategic");
    t.equal((a.patch as { metadata: { uid: string } }).metadata.uid, "uid-p");
  }
  // Nothing changed: a resync writes nothing.
  const before = patches.length;
  await h.advance(60_000, 60_000);
  t.equal(h.client.actions.filter((a) => a.verb === "patch").length, before, "no write without a change");
  // lastTransitionTime stays while the condition's status does.
  const ready = condition(h.status("p") ?? ({ conditions: [] } as never), "Ready");
  t.equal(ready?.lastTransitionTime, "2026-01-01T00:00:00Z");
});

t.test("a pod recreated under the same name never gets the old pod's status", async (t) => {
  const h = await harness([makePod("p", {}, "uid-new")]);
  t.teardown(() => h.close());
  h.workers.updatePod(makePod("p", {}, "uid-old"));
  await h.settle();
  await h.advance(2000);
  t.equal(h.client.actions.filter((a) => a.verb === "patch").length, 0, "no patch");
  t.equal(h.status("p")?.phase, "Pending");
});

t.test("init containers run one at a time, in order, before the app containers", async (t) => {
  const pod = makePod("init", {
    initContainers: [
      { name: "i1", image: "busybox", command: ["true"] },
      { name: "i2", image: "busybox", command: ["true"] },
    ],
  });
  const h = await harness([pod], (name) => (name.startsWith("i") ? { exitAfterMs: 1000, exitCode: 0 } : {}));
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  let s = await waitStatus(
    h,
    "init",
    "i1 running",
    (s) => s.initContainerStatuses?.[0]?.state.running !== undefined,
  );
  t.equal(s.phase, "Pending");
  t.equal(condition(s, "Initialized")?.message, "containers with incomplete status: [i1 i2]");
  t.equal(s.containerStatuses?.[0]?.state.waiting?.reason, "PodInitializing");
  t.equal(h.runtime.calls.filter((c) => c.method === "createContainer").length, 1, "only i1 created");
  await h.advance(1000);
  s = await waitStatus(
    h,
    "init",
    "i2 running",
    (s) => s.initContainerStatuses?.[1]?.state.running !== undefined,
  );
  t.equal(s.initContainerStatuses?.[0]?.state.terminated?.reason, "Completed");
  await h.advance(1000);
  s = await waitStatus(h, "init", "Running", (s) => s.phase === "Running");
  t.equal(condition(s, "Initialized")?.status, "True");
  const created = h.runtime.calls
    .filter((c) => c.method === "createContainer")
    .map((c) => h.runtime.configOf(c.id ?? "")?.labels["io.kubernetes.container.name"]);
  t.same(created, ["i1", "i2", "c"]);
  t.equal(h.events.find((e) => e.fieldPath === "spec.initContainers{i1}")?.reason, "Pulled");
});

t.test("a failed init container with restartPolicy Never fails the pod", async (t) => {
  const pod = makePod("initfail", {
    restartPolicy: "Never",
    initContainers: [{ name: "i1", image: "busybox" }],
  });
  const h = await harness([pod], (name) => (name === "i1" ? { exitAfterMs: 1000, exitCode: 3 } : {}));
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  await h.settle();
  await h.advance(1000);
  const s = await waitStatus(h, "initfail", "Failed", (s) => s.phase === "Failed");
  t.equal(s.initContainerStatuses?.[0]?.state.terminated?.exitCode, 3);
  t.equal(s.initContainerStatuses?.[0]?.state.terminated?.reason, "Error");
  t.equal(
    h.runtime.calls.filter((c) => c.method === "createContainer").length,
    1,
    "the app container never ran",
  );
});

t.test("restartPolicy: Never fails on exit 1, OnFailure succeeds on exit 0, Always restarts", async (t) => {
  const never = makePod("never", { restartPolicy: "Never" });
  const onFailure = makePod("onfailure", { restartPolicy: "OnFailure" });
  const always = makePod("always", { restartPolicy: "Always" });
  const codes: Record<string, number> = { "uid-never": 1, "uid-onfailure": 0, "uid-always": 0 };
  const h = await harness([never, onFailure, always]);
  h.runtime.behaviour = (cfg) => ({
    exitAfterMs: 1000,
    exitCode: codes[cfg.labels["io.kubernetes.pod.uid"] ?? ""] ?? 0,
  });
  t.teardown(() => h.close());
  for (const p of [never, onFailure, always]) h.workers.updatePod(p);
  await h.settle();
  await h.advance(1000);
  const n = await waitStatus(h, "never", "Failed", (s) => s.phase === "Failed");
  t.equal(n.containerStatuses?.[0]?.state.terminated?.reason, "Error");
  t.equal(condition(n, "Ready")?.reason, "ContainersNotReady");
  t.equal(condition(n, "Ready")?.message, "containers with unready status: [c]");
  const o = await waitStatus(h, "onfailure", "Succeeded", (s) => s.phase === "Succeeded");
  t.equal(o.containerStatuses?.[0]?.state.terminated?.reason, "Completed");
  t.equal(condition(o, "Ready")?.reason, "PodCompleted");
  const a = await waitStatus(h, "always", "restarted", (s) => s.containerStatuses?.[0]?.restartCount === 1);
  t.equal(a.phase, "Running");
  t.equal(a.containerStatuses?.[0]?.lastState.terminated?.reason, "Completed");
  t.ok(a.containerStatuses?.[0]?.state.running);
  // Terminal pods give back their sandbox but keep their exited containers (logs).
  t.notOk(h.network.pods.has("uid-never"));
  t.notOk(h.uts.pods.has("uid-never"));
  t.notOk(h.cgroups.pods.has("uid-never"));
  t.ok((await h.runtime.listContainers()).some((c) => c.labels["io.kubernetes.pod.uid"] === "uid-never"));
});

t.test("CrashLoopBackOff waits 10 s, 20 s, 40 s between restarts", async (t) => {
  const pod = makePod("crash");
  const h = await harness([pod], () => ({ exitAfterMs: 1000, exitCode: 1 }));
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  await h.settle();
  await h.advance(80_000);
  const list = (await h.runtime.listContainers()).sort((a, b) => a.createdAt - b.createdAt);
  const starts = h.runtime.calls.filter((c) => c.method === "startContainer").length;
  t.ok(starts >= 5, `${starts} starts`);
  // Only the current and the previous container are kept.
  t.equal(list.length, 2);
  const s = h.status("crash");
  const cs = s?.containerStatuses?.[0];
  t.ok(cs !== undefined);
  if (cs?.state.waiting !== undefined) {
    t.equal(cs.state.waiting.reason, "CrashLoopBackOff");
    t.match(
      cs.state.waiting.message,
      /^back-off \d+s restarting failed container=c pod=crash_default\(uid-crash\)$/,
    );
  }
  t.equal(cs?.lastState.terminated?.exitCode, 1);
  t.equal(s?.phase, "Running");
  const backoffs = h.events.filter((e) => e.reason === "BackOff");
  t.ok(backoffs.length > 0);
  t.equal(backoffs[0]?.message, "Back-off restarting failed container c in pod crash_default(uid-crash)");
});

t.test("the restart delays follow kube's back-off exactly", async (t) => {
  const pod = makePod("delays");
  const h = await harness([pod], () => ({ exitAfterMs: 1000, exitCode: 1 }));
  t.teardown(() => h.close());
  const startTimes: number[] = [];
  h.runtime.onEvent((e) => {
    if (e.type === "start") startTimes.push(e.at);
  });
  h.workers.updatePod(pod);
  await h.settle();
  await h.advance(90_000, 500);
  const t0 = startTimes[0] ?? 0;
  // Each run lasts 1 s; the first restart is at once, then 10, 20, 40 s after the exit.
  const gaps = startTimes.slice(1, 5).map((at, i) => (at - ((startTimes[i] ?? 0) + 1000)) / 1000);
  t.same(gaps, [0, 10, 20, 40], `starts at ${startTimes.map((x) => (x - t0) / 1000).join(", ")}`);
  const s = await waitStatus(
    h,
    "delays",
    "CrashLoopBackOff",
    (s) => s.containerStatuses?.[0]?.state.waiting?.reason === "CrashLoopBackOff",
  );
  t.equal(
    s.containerStatuses?.[0]?.state.waiting?.message,
    "back-off 1m20s restarting failed container=c pod=delays_default(uid-delays)".replace("1m20s", "80s"),
  );
});

t.test("a liveness failure kills the container and starts a new one", async (t) => {
  const pod = makePod("live");
  const h = await harness([pod]);
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  const s = await waitStatus(h, "live", "Running", (s) => s.phase === "Running");
  const id = s.containerStatuses?.[0]?.containerID?.slice(13) ?? "";
  h.probes.emit({
    podUID: "uid-live",
    containerName: "c",
    containerID: `containerd://${id}`,
    probeType: "liveness",
    result: "failure",
  });
  const after = await waitStatus(
    h,
    "live",
    "restarted",
    (s) => s.containerStatuses?.[0]?.restartCount === 1 && s.containerStatuses[0].state.running !== undefined,
  );
  t.not(after.containerStatuses?.[0]?.containerID, `containerd://${id}`);
  t.equal(after.containerStatuses?.[0]?.lastState.terminated?.exitCode, 143);
  const killing = h.events.find((e) => e.reason === "Killing");
  t.equal(killing?.message, "Container c failed liveness probe, will be restarted");
  t.same(
    h.runtime.calls.filter((c) => c.id === id && c.method === "signalContainer").map((c) => c.signal),
    ["SIGTERM"],
  );
});

t.test("deletion: SIGTERM, SIGKILL after the grace period, everything removed, pod deleted", async (t) => {
  const pod = makePod("del", { terminationGracePeriodSeconds: 30 });
  const h = await harness([pod], () => ({ ignoreSigterm: true }));
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  const s = await waitStatus(h, "del", "Running", (s) => s.phase === "Running");
  const id = s.containerStatuses?.[0]?.containerID?.slice(13) ?? "";
  const deleting = structuredClone(h.apiPod("del") ?? pod);
  deleting.metadata.deletionTimestamp = "2026-01-01T00:00:30Z";
  deleting.metadata.deletionGracePeriodSeconds = 30;
  // The fake tracker has no graceful deletion: answer reads with the deletionTimestamp set.
  h.client.prependReactor("get", "pods", (a) => {
    if (a.name !== "del") return undefined;
    const cur = h.apiPod("del");
    if (cur === undefined) return undefined;
    return {
      handled: true,
      result: {
        ...cur,
        metadata: { ...cur.metadata, ...deleting.metadata, resourceVersion: cur.metadata.resourceVersion },
      },
    };
  });
  h.workers.updatePod(deleting);
  await h.settle();
  const signals = () =>
    h.runtime.calls.filter((c) => c.id === id && c.method === "signalContainer").map((c) => c.signal);
  t.same(signals(), ["SIGTERM"]);
  await h.advance(29_000);
  t.same(signals(), ["SIGTERM"], "no SIGKILL within the grace period");
  await h.advance(2000);
  t.same(signals(), ["SIGTERM", "SIGKILL"]);
  await h.settle();
  t.same(await h.runtime.listContainers(), [], "containers removed");
  t.notOk(h.network.pods.has("uid-del"));
  t.notOk(h.uts.pods.has("uid-del"), "UTS namespace removed");
  t.notOk(h.cgroups.pods.has("uid-del"));
  t.notOk(h.volumes.setUp.has("uid-del"));
  t.equal(h.apiPod("del"), undefined, "pod deleted from the API");
  const del = h.client.actions.find((a) => a.verb === "delete");
  t.same(del?.deleteOptions, { gracePeriodSeconds: 0, preconditions: { uid: "uid-del" } });
  const phases = h.client.actions
    .filter((a) => a.verb === "patch")
    .map((a) => (a.patch as { status: { phase?: string } }).status.phase);
  t.equal(phases.filter((p) => p !== undefined).at(-1), "Failed", "the final status is terminal");
  t.ok(
    h.client.actions.findIndex((a) => a.verb === "delete") >
      h.client.actions.findLastIndex((a) => a.verb === "patch"),
    "deleted after the last status write",
  );
  t.equal(h.events.filter((e) => e.reason === "Killing").at(0)?.message, "Stopping container c");
});

t.test("ErrImageNeverPull and ErrImagePull then ImagePullBackOff", async (t) => {
  const never = makePod("never", {
    containers: [{ name: "c", image: "absent:1", imagePullPolicy: "Never" }],
  });
  const pull = makePod("pull", {
    containers: [{ name: "c", image: "absent:1", imagePullPolicy: "IfNotPresent" }],
  });
  const h = await harness([never, pull]);
  t.teardown(() => h.close());
  h.workers.updatePod(never);
  h.workers.updatePod(pull);
  const n = await waitStatus(
    h,
    "never",
    "ErrImageNeverPull",
    (s) => s.containerStatuses?.[0]?.state.waiting?.reason === "ErrImageNeverPull",
  );
  t.equal(
    n.containerStatuses?.[0]?.state.waiting?.message,
    'Container image "absent:1" is not present with pull policy of Never',
  );
  t.equal(n.phase, "Pending");
  t.ok(h.events.some((e) => e.reason === "ErrImageNeverPull" && e.type === "Warning"));
  await waitStatus(
    h,
    "pull",
    "ErrImagePull",
    (s) => s.containerStatuses?.[0]?.state.waiting?.reason === "ErrImagePull",
  );
  t.ok(
    h.events.some((e) => e.reason === "Failed" && e.message.startsWith('Failed to pull image "absent:1": ')),
  );
  await h.advance(20_000);
  const p = await waitStatus(
    h,
    "pull",
    "ImagePullBackOff",
    (s) => s.containerStatuses?.[0]?.state.waiting?.reason === "ImagePullBackOff",
  );
  t.equal(p.containerStatuses?.[0]?.state.waiting?.message, 'Back-off pulling image "absent:1"');
  // Importing the image lets the next try run it.
  h.runtime.addImage("docker.io/library/absent:1");
  await h.advance(60_000, 5000);
  await waitStatus(h, "pull", "Running", (s) => s.phase === "Running");
});

t.test("a container whose process cannot start: StartError, then back-off", async (t) => {
  const pod = makePod("nocmd");
  const h = await harness([pod], () => ({ startError: 'exec: "nope": executable file not found in $PATH' }));
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  await h.settle();
  await h.advance(1000);
  const s = await waitStatus(h, "nocmd", "StartError seen", (s) => {
    const cs = s.containerStatuses?.[0];
    return (cs?.state.terminated ?? cs?.lastState.terminated)?.reason === "StartError";
  });
  const term = s.containerStatuses?.[0]?.state.terminated ?? s.containerStatuses?.[0]?.lastState.terminated;
  t.equal(term?.exitCode, 128);
  t.match(term?.message, /executable file not found/);
  t.ok(h.events.some((e) => e.reason === "Failed" && e.message.startsWith("Error: exec")));
});

t.test("adoption: a new agent over the same runtime starts nothing twice", async (t) => {
  const pod = makePod("adopt");
  const h = await harness([pod]);
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  await waitStatus(h, "adopt", "Running", (s) => s.phase === "Running");
  const creates = () => h.runtime.calls.filter((c) => c.method === "createContainer").length;
  t.equal(creates(), 1);
  await h.restart();
  h.workers.updatePod(h.apiPod("adopt") ?? pod);
  await h.settle();
  await h.advance(120_000, 30_000);
  t.equal(creates(), 1, "no second container");
  t.equal(h.status("adopt")?.phase, "Running");
  // A pod the API no longer has is cleaned up as an orphan.
  await h.workers.cleanupOrphanedPods(new Set());
  t.equal((await h.runtime.listContainers()).length, 1, "the adopted pod is kept");
});

t.test("orphans of a previous run are stopped and removed", async (t) => {
  const pod = makePod("orphan");
  const h = await harness([pod]);
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  await waitStatus(h, "orphan", "Running", (s) => s.phase === "Running");
  await h.restart();
  await h.workers.cleanupOrphanedPods(new Set());
  t.same(await h.runtime.listContainers(), []);
  t.notOk(h.network.pods.has("uid-orphan"));
  t.notOk(h.uts.pods.has("uid-orphan"));
  t.notOk(h.cgroups.pods.has("uid-orphan"));
});

t.test(
  "containers of a pod share one UTS namespace with spec.hostname; hostNetwork pods get none",
  async (t) => {
    const two = makePod("two", {
      hostname: "chosen",
      containers: [
        { name: "a", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] },
        { name: "b", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] },
      ],
    } as never);
    const host = makePod("host", { hostNetwork: true });
    const h = await harness([two, host]);
    t.teardown(() => h.close());
    h.workers.updatePod(two);
    h.workers.updatePod(host);
    await waitStatus(h, "two", "Running", (s) => s.phase === "Running");
    const hs = await waitStatus(h, "host", "Running", (s) => s.phase === "Running");
    const configs = (await h.runtime.listContainers()).map((c) => h.runtime.configOf(c.id));
    const ofTwo = configs.filter((c) => c?.labels["io.kubernetes.pod.uid"] === "uid-two");
    t.equal(ofTwo.length, 2);
    t.equal(h.uts.pods.get("uid-two")?.hostname, "chosen", "spec.hostname names the namespace");
    t.same(
      ofTwo.map((c) => c?.utsPath),
      [h.uts.pods.get("uid-two")?.path, h.uts.pods.get("uid-two")?.path],
      "both containers join it",
    );
    const hostCfg = h.runtime.configOf(hs.containerStatuses?.[0]?.containerID?.slice(13) ?? "");
    t.equal(hostCfg?.utsPath, undefined, "a hostNetwork pod keeps the node's UTS namespace");
    t.equal(hostCfg?.hostname, undefined, "and the node's hostname");
    t.notOk(h.uts.pods.has("uid-host"));
  },
);

t.test("a UTS namespace that cannot be made is FailedCreatePodSandBox; nothing starts", async (t) => {
  const h = await harness([makePod("nouts")]);
  t.teardown(() => h.close());
  h.uts.setUpError = "unshare: permission denied";
  h.workers.updatePod(makePod("nouts"));
  await h.settle();
  t.match(
    h.events.find((e) => e.reason === "FailedCreatePodSandBox")?.message,
    /Failed to create pod sandbox: unshare: permission denied/,
  );
  t.same(await h.runtime.listContainers(), [], "no container created");
  h.uts.setUpError = undefined;
  await h.advance(10_000);
  await waitStatus(h, "nouts", "Running after the retry", (s) => s.phase === "Running");
});

t.test("a volume error is a FailedMount event; the pod stays Pending and is retried", async (t) => {
  const { VolumeError } = await import("../src/index.js");
  const pod = makePod("vol");
  const h = await harness([pod]);
  t.teardown(() => h.close());
  h.volumes.failWith = new VolumeError(
    "FailedMount",
    'MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found',
  );
  h.workers.updatePod(pod);
  await h.settle();
  t.ok(h.events.some((e) => e.reason === "FailedMount" && e.type === "Warning"));
  t.equal(h.status("vol")?.phase, "Pending");
  t.equal(h.runtime.calls.filter((c) => c.method === "createContainer").length, 0);
  h.volumes.failWith = undefined;
  await h.advance(10_000, 5000);
  await waitStatus(h, "vol", "Running", (s) => s.phase === "Running");
});

t.test("OOMKilled is reported as the terminated reason", async (t) => {
  const pod = makePod("oom", { restartPolicy: "Never" });
  const h = await harness([pod], () => ({ exitAfterMs: 1000, oom: true }));
  t.teardown(() => h.close());
  h.workers.updatePod(pod);
  await h.settle();
  await h.advance(1000);
  const s = await waitStatus(h, "oom", "Failed", (s) => s.phase === "Failed");
  t.equal(s.containerStatuses?.[0]?.state.terminated?.reason, "OOMKilled");
  t.equal(s.containerStatuses?.[0]?.state.terminated?.exitCode, 137);
});
