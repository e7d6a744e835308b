/**
 * Real pods on the embedded agent of `skiff server` (containerd through ctr, CNI bridge +
 * host-local in the node's network namespace), driven with the real kubectl: a Deployment of
 * busybox httpd answers HTTP from the node's namespace; logs (follow, previous); exec with exit
 * code and stdin; liveness restarts with CrashLoopBackOff spacing; readiness flips Ready;
 * OOMKilled under a 32Mi limit; init containers in order; configMap/secret volumes and env;
 * graceful termination of a process that ignores SIGTERM; and a deleted pod leaves no network
 * or UTS namespace, veth, IPAM entry, cgroup or containerd object behind. An init container
 * reads the pod's hostname as its first instruction.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Pod } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  type AgentCluster,
  agentSkipReason,
  type ContainerStatusView,
  createPod,
  IMAGE,
  startAgentCluster,
  statuses,
} from "./fixtures/agent.js";

const run = promisify(execFile);
const skip = agentSkipReason();
if (skip !== undefined) t.comment(`skipping the agent's end-to-end tests: ${skip}`);

const cond = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;

t.test("pods on the embedded agent", { skip, timeout: 600_000 }, async (t) => {
  const c: AgentCluster = await startAgentCluster();
  t.teardown(() => c.stop());
  const pods = c.client.resource<Pod>("v1", "pods", "default");
  const getPod = (name: string) => pods.get(name);
  const waitPod = (name: string, what: string, ok: (p: Pod) => boolean, timeoutMs = 60_000) =>
    waitFor(async () => ok(await getPod(name).catch(() => ({}) as Pod)), {
      what: `${name}: ${what}`,
      timeoutMs,
    });
  const deletePod = async (name: string) => {
    await pods.delete(name).catch(() => undefined);
    await waitFor(
      () =>
        getPod(name).then(
          () => false,
          () => true,
        ),
      { what: `${name} gone`, timeoutMs: 60_000 },
    );
  };

  await t.test("a Deployment of busybox httpd answers HTTP from the node", async (t) => {
    const created = await c.kubectl([
      "create",
      "deployment",
      "web",
      `--image=${IMAGE}`,
      "--replicas=3",
      "--",
      "httpd",
      "-f",
      "-p",
      "8080",
      "-h",
      "/",
    ]);
    t.equal(created.code, 0, created.stderr);
    const rollout = await c.kubectl(["rollout", "status", "deployment/web", "--timeout=120s"], {
      timeoutMs: 130_000,
    });
    t.match(rollout.stdout, /successfully rolled out/, rollout.stderr);
    const list = await pods.list({ labelSelector: "app=web" });
    t.equal(list.items.length, 3);
    const ips = list.items.map((p) => p.status?.podIP as string);
    t.equal(new Set(ips).size, 3, "three distinct pod IPs");
    for (const ip of ips) {
      t.match(ip, /^10\.244\.\d+\.\d+$/, "on the cluster CIDR");
      const out = await c.inNode([
        "sh",
        "-c",
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 busybox nc ${ip} 8080`,
      ]);
      t.match(out, /^HTTP\/1\.[01] \d{3}/, `httpd at ${ip} answers`);
    }
    // busybox httpd as PID 1 ignores SIGTERM: the pods go with a short grace period, after their
    // owners (orphaning them, so that no controller makes new ones).
    for (const owner of [["deployment/web"], ["replicaset", "-l", "app=web"]]) {
      const r = await c.kubectl(["delete", ...owner, "--cascade=orphan"]);
      t.equal(r.code, 0, r.stderr);
    }
    const del = await c.kubectl(["delete", "pods", "-l", "app=web", "--grace-period=1"]);
    t.equal(del.code, 0, del.stderr);
    await waitFor(async () => (await pods.list({ labelSelector: "app=web" })).items.length === 0, {
      what: "web's pods gone",
      timeoutMs: 90_000,
    });
  });

  await t.test("logs follow a running container and show the previous one after a restart", async (t) => {
    await createPod(c, "logger", {
      containers: [
        {
          name: "c",
          image: IMAGE,
          command: [
            "sh",
            "-c",
            'echo "run $(cat /proc/uptime)"; i=0; while [ $i -lt 5 ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.3; done; exit 1',
          ],
        },
      ],
    });
    await waitPod("logger", "restarted once", (p) => (statuses(p)[0]?.restartCount ?? 0) >= 1, 90_000);
    const prev = await c.kubectl(["logs", "logger", "--previous"]);
    t.equal(prev.code, 0, prev.stderr);
    t.match(prev.stdout, /line 4/, "the previous container's output");
    t.match(prev.stdout, /err 4/, "stderr too");
    const tail = await c.kubectl(["logs", "logger", "--previous", "--tail=1"]);
    t.equal(tail.stdout.trim().split("\n").length, 1, "--tail=1 gives one line");
    const ts = await c.kubectl(["logs", "logger", "--previous", "--timestamps", "--tail=1"]);
    t.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /, "--timestamps prefixes RFC3339Nano");
    await waitPod("logger", "running again", (p) => statuses(p)[0]?.state.running !== undefined, 90_000);
    const follow = await c.kubectl(["logs", "-f", "logger"], { timeoutMs: 60_000 });
    t.equal(follow.code, 0, follow.stderr);
    t.match(follow.stdout, /line 0[\s\S]*line 4/, "follow streams until the container ends");
    await deletePod("logger");
  });

  await t.test("exec propagates the exit code and passes stdin", async (t) => {
    await createPod(c, "sleeper", {
      containers: [{ name: "c", image: IMAGE, command: ["sleep", "3600"] }],
      terminationGracePeriodSeconds: 1,
    });
    await waitPod("sleeper", "running", (p) => statuses(p)[0]?.state.running !== undefined);
    const three = await c.kubectl(["exec", "sleeper", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    t.equal(three.code, 3, "kubectl exits with the command's code");
    t.match(three.stdout, /out/);
    t.match(three.stderr, /err/);
    const cat = await c.kubectl(["exec", "-i", "sleeper", "--", "cat"], { input: "hello from stdin\n" });
    t.equal(cat.code, 0, cat.stderr);
    t.equal(cat.stdout, "hello from stdin\n");
    await deletePod("sleeper");
  });

  await t.test("a failing liveness probe restarts the container with CrashLoopBackOff spacing", async (t) => {
    await createPod(c, "live", {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "c",
          image: IMAGE,
          command: ["sleep", "3600"],
          livenessProbe: {
            exec: { command: ["cat", "/tmp/healthy"] },
            periodSeconds: 1,
            failureThreshold: 1,
          },
        },
      ],
    });
    await waitPod("live", "restarted twice", (p) => (statuses(p)[0]?.restartCount ?? 0) >= 2, 120_000);
    const ev = await c.kubectl([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=live",
      "-o",
      "json",
    ]);
    t.match(ev.stdout, /Liveness probe failed/, "an Unhealthy event");
    await deletePod("live");
    await createPod(c, "crash", { containers: [{ name: "c", image: IMAGE, command: ["false"] }] });
    const starts: number[] = [];
    await waitFor(
      async () => {
        const s = statuses(await getPod("crash"))[0];
        // Start times have whole seconds: the first restart (no back-off yet) may share its
        // second with the first run, so every start the status shows is collected.
        for (const at of [
          s?.state.running?.startedAt,
          s?.state.terminated?.startedAt,
          s?.lastState.terminated?.startedAt,
        ])
          if (at !== undefined && !starts.includes(Date.parse(at))) starts.push(Date.parse(at));
        return (s?.restartCount ?? 0) >= 2;
      },
      { what: "crash restarted twice", timeoutMs: 150_000, intervalMs: 200 },
    );
    const p = await getPod("crash");
    t.ok(
      ["CrashLoopBackOff", undefined].includes(statuses(p)[0]?.state.waiting?.reason),
      "waiting in CrashLoopBackOff between runs",
    );
    starts.sort((a, b) => a - b);
    const gaps = starts.slice(1).map((s, i) => s - (starts[i] as number));
    t.ok(
      gaps.some((g) => g >= 9_000),
      `a back-off of at least 10 s between starts (gaps ${gaps.join(", ")} ms)`,
    );
    await deletePod("crash");
  });

  await t.test("readiness flips the Ready condition", async (t) => {
    await createPod(c, "ready", {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "c",
          image: IMAGE,
          command: ["sleep", "3600"],
          readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 },
        },
      ],
    });
    await waitPod(
      "ready",
      "running, not ready",
      (p) => statuses(p)[0]?.state.running !== undefined && cond(p, "Ready") === "False",
    );
    t.equal((await c.kubectl(["exec", "ready", "--", "touch", "/tmp/ready"])).code, 0);
    await waitPod("ready", "Ready", (p) => cond(p, "Ready") === "True" && statuses(p)[0]?.ready === true);
    t.equal((await c.kubectl(["exec", "ready", "--", "rm", "/tmp/ready"])).code, 0);
    await waitPod("ready", "not Ready again", (p) => cond(p, "Ready") === "False");
    await deletePod("ready");
  });

  await t.test("a container over its 32Mi limit is OOMKilled", async (t) => {
    await createPod(c, "oom", {
      restartPolicy: "Never",
      containers: [
        {
          name: "c",
          image: IMAGE,
          command: ["sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo done"],
          resources: { limits: { memory: "32Mi" } },
        },
      ],
    });
    await waitPod("oom", "terminated", (p) => statuses(p)[0]?.state.terminated !== undefined, 90_000);
    const s = statuses(await getPod("oom"))[0] as ContainerStatusView;
    t.equal(s.state.terminated?.reason, "OOMKilled");
    t.equal(s.state.terminated?.exitCode, 137);
    t.equal((await getPod("oom")).status?.phase, "Failed");
    await deletePod("oom");
  });

  await t.test("init containers run in order before the app; configMap, secret and env", async (t) => {
    await c.kubectl([
      "create",
      "configmap",
      "cfg",
      "--from-literal=greeting=hello",
      "--from-literal=color=blue",
    ]);
    await c.kubectl(["create", "secret", "generic", "sec", "--from-literal=password=s3cr3t"]);
    await createPod(c, "init", {
      restartPolicy: "Never",
      volumes: [
        { name: "work", emptyDir: {} },
        { name: "cfg", configMap: { name: "cfg" } },
        { name: "sec", secret: { secretName: "sec" } },
      ],
      initContainers: [
        {
          name: "one",
          image: IMAGE,
          // The pod's hostname from the first instruction on (the pod's UTS namespace).
          command: ["sh", "-c", "hostname >> /work/order; echo one >> /work/order"],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        },
        {
          name: "two",
          image: IMAGE,
          command: ["sh", "-c", "echo two >> /work/order"],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        },
      ],
      containers: [
        {
          name: "app",
          image: IMAGE,
          command: [
            "sh",
            "-c",
            'cat /work/order; cat /cfg/greeting; echo; cat /sec/password; echo; echo "env $GREETING $PASSWORD $color $POD_NAME $KUBERNETES_SERVICE_HOST"; ls /var/run/secrets/kubernetes.io/serviceaccount | tr "\\n" " "',
          ],
          env: [
            { name: "GREETING", valueFrom: { configMapKeyRef: { name: "cfg", key: "greeting" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "sec", key: "password" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          ],
          envFrom: [{ configMapRef: { name: "cfg" }, prefix: "" }],
          volumeMounts: [
            { name: "work", mountPath: "/work" },
            { name: "cfg", mountPath: "/cfg" },
            { name: "sec", mountPath: "/sec" },
          ],
        },
      ],
    });
    await waitPod("init", "Succeeded", (p) => p.status?.phase === "Succeeded", 90_000);
    const logs = await c.kubectl(["logs", "init", "-c", "app"]);
    t.match(
      logs.stdout,
      /^init\none\ntwo\nhello\ns3cr3t\nenv hello s3cr3t blue init 10\.96\.0\.1\nca\.crt namespace token $/,
      logs.stderr,
    );
    await deletePod("init");
  });

  await t.test(
    "graceful termination: SIGTERM ignored, SIGKILL after the grace period, no trace left",
    async (t) => {
      await createPod(c, "stubborn", {
        terminationGracePeriodSeconds: 3,
        containers: [
          { name: "c", image: IMAGE, command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"] },
        ],
      });
      await waitPod("stubborn", "running", (p) => statuses(p)[0]?.state.running !== undefined);
      const p = await getPod("stubborn");
      const uid = p.metadata.uid as string;
      const id = String(statuses(p)[0]?.containerID ?? "").replace("containerd://", "");
      const uts = `${c.dir}/data/agent/uts/${uid}`;
      t.ok(existsSync(uts), "the pod's UTS namespace file while it runs");
      const started = Date.now();
      await deletePod("stubborn");
      t.ok(
        Date.now() - started >= 2_500,
        `the pod lived through its grace period (${Date.now() - started} ms)`,
      );
      const ns = `skiff-${c.nodeName}`;
      const netns = (await run("ip", ["netns", "list"])).stdout;
      t.notMatch(netns, new RegExp(`${ns}-${uid}`), "no pod network namespace");
      t.notOk(existsSync(uts), "no pod UTS namespace file");
      const mounts = readFileSync("/proc/self/mounts", "utf8");
      t.notOk(mounts.includes(uts), "nor its mount");
      const links = await c.inNode(["ip", "-o", "link", "show", "type", "veth"]);
      t.notMatch(links, uid, "no veth of the pod left in the node namespace");
      const ipam = `${c.dir}/data/agent/cni`;
      const files = existsSync(ipam) ? readdirSync(ipam, { recursive: true }).map(String) : [];
      const entries = files.filter((f) => /\d+\.\d+\.\d+\.\d+$/.test(f));
      t.notOk(
        entries.some((f) => readFileSync(join(ipam, f), "utf8").includes(uid)),
        `no IPAM entry of the pod (${entries.join(" ")})`,
      );
      const cg = `/sys/fs/cgroup/memory/skiff-${c.nodeName}`;
      const cgs = existsSync(cg) ? readdirSync(cg, { recursive: true }).map(String) : [];
      t.notOk(
        cgs.some((d) => d.includes(uid)),
        "no pod cgroup",
      );
      const ctr = (await run("ctr", [
        "-a",
        `${c.dir}/data/agent/containerd/containerd.sock`,
        "-n",
        ns,
        "containers",
        "ls",
        "-q",
      ]).catch((e) => e)) as { stdout: string };
      t.notMatch(String(ctr.stdout), id, "no containerd container");
      const snaps = (await run("ctr", [
        "-a",
        `${c.dir}/data/agent/containerd/containerd.sock`,
        "-n",
        ns,
        "snapshots",
        "ls",
      ]).catch((e) => e)) as { stdout: string };
      t.notMatch(String(snaps.stdout), id, "no snapshot");
    },
  );
});
