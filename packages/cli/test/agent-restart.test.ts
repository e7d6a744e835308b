/**
 * `skiff agent` as its own process joining `skiff server --disable-agent` with the node token:
 * killed with -9 and restarted, it adopts the pods that kept running (same containers, no
 * restart, no second copy) and keeps serving their logs; a bad image and a missing ConfigMap get
 * kube's reasons without hurting the agent; deleting everything leaves the node clean.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Pod } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  agentSkipReason,
  type ContainerStatusView,
  createPod,
  IMAGE,
  startAgentCluster,
  statuses,
} from "./fixtures/agent.js";

const skip = agentSkipReason();
if (skip !== undefined) t.comment(`skipping the agent's restart tests: ${skip}`);

t.test(
  "a separate agent killed with -9 adopts its pods on restart",
  { skip, timeout: 300_000 },
  async (t) => {
    const c = await startAgentCluster({ separateAgent: true });
    t.teardown(() => c.stop());
    const pods = c.client.resource<Pod>("v1", "pods", "default");
    const names = ["a", "b"];
    for (const name of names)
      await createPod(c, name, {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "c", image: IMAGE, command: ["sh", "-c", "echo started; sleep 3600"] }],
      });
    const running = async () =>
      Promise.all(names.map(async (n) => statuses(await pods.get(n))[0])).then((s) =>
        s.every((x) => x?.state.running !== undefined) ? s : undefined,
      );
    await waitFor(async () => (await running()) !== undefined, {
      what: "both pods running",
      timeoutMs: 60_000,
    });
    const before = (await running()) as ContainerStatusView[];

    const agent = c.agent;
    if (agent === undefined) throw new Error("no agent process");
    const died = new Promise((r) => agent.once("exit", r));
    agent.kill("SIGKILL");
    await died;
    await c.startAgent();
    // The new agent reports its node again and the pods keep their containers.
    await waitFor(
      async () => {
        const lease = await c.client
          .resource("coordination.k8s.io/v1", "leases", "kube-node-lease")
          .get(c.nodeName);
        return Date.now() - Date.parse((lease.spec as { renewTime: string }).renewTime) < 5_000;
      },
      { what: "the restarted agent renews its Lease", timeoutMs: 60_000 },
    );
    await waitFor(async () => (await c.kubectl(["logs", "a"])).stdout === "started\n", {
      what: "logs of an adopted container",
      timeoutMs: 30_000,
    });
    t.pass("logs of an adopted container");
    const after = (await running()) as ContainerStatusView[];
    for (const [i, s] of after.entries()) {
      t.equal(s.containerID, before[i]?.containerID, `pod ${names[i]} keeps its container`);
      t.equal(s.restartCount, 0, `pod ${names[i]} was not restarted`);
    }
    const config = join(c.dir, "agent", "containerd", "config.toml");
    t.equal(
      containerdsOn(config),
      1,
      "the new agent took over the old containerd instead of starting a second",
    );

    await t.test("bad input gets kube's reasons and the agent lives on", async (t) => {
      await createPod(c, "noimage", {
        containers: [{ name: "c", image: "skiff.local/absent:1", imagePullPolicy: "Never" }],
      });
      await createPod(c, "nocmd", {
        restartPolicy: "Never",
        containers: [{ name: "c", image: IMAGE, command: ["/no/such/binary"] }],
      });
      await createPod(c, "nocm", {
        volumes: [{ name: "v", configMap: { name: "missing" } }],
        containers: [
          {
            name: "c",
            image: IMAGE,
            command: ["sleep", "1"],
            volumeMounts: [{ name: "v", mountPath: "/v" }],
          },
        ],
      });
      await waitFor(
        async () => statuses(await pods.get("noimage"))[0]?.state.waiting?.reason === "ErrImageNeverPull",
        {
          what: "ErrImageNeverPull",
          timeoutMs: 60_000,
        },
      );
      t.match(
        statuses(await pods.get("noimage"))[0]?.state.waiting?.message,
        /is not present with pull policy of Never/,
      );
      await waitFor(async () => (await pods.get("nocmd")).status?.phase === "Failed", {
        what: "nocmd Failed",
        timeoutMs: 60_000,
      });
      const mountEvent = async () => {
        const r = await c.kubectl([
          "get",
          "events",
          "--field-selector",
          "involvedObject.name=nocm",
          "-o",
          "json",
        ]);
        const items = (JSON.parse(r.stdout || "{}") as { items?: Array<{ reason: string; message: string }> })
          .items;
        return items?.find(
          (e) => e.reason === "FailedMount" && /configmap "missing" not found/.test(e.message),
        );
      };
      const mount = await waitFor(mountEvent, { what: "a FailedMount event", timeoutMs: 60_000 });
      t.match(mount.message, /configmap "missing" not found/, "kubectl shows the FailedMount event");
      // A pod bound here that asks for more than the node has is refused as kube's kubelet does.
      await createPod(c, "huge", {
        containers: [
          { name: "c", image: IMAGE, command: ["sleep", "1"], resources: { requests: { cpu: "1000" } } },
        ],
      });
      await waitFor(async () => (await pods.get("huge")).status?.reason === "OutOfcpu", {
        what: "huge rejected with OutOfcpu",
        timeoutMs: 60_000,
      });
      const huge = await pods.get("huge");
      t.equal(huge.status?.phase, "Failed");
      t.match(
        huge.status?.message,
        /^Pod was rejected: Node didn't have enough resource: cpu, requested: 1000000/,
      );
      t.equal(c.agent?.exitCode, null, "the agent still runs");
    });

    const del = await c.kubectl(["delete", "pods", "--all", "--wait=true"], { timeoutMs: 120_000 });
    t.equal(del.code, 0, del.stderr);
  },
);

/** How many running containerd processes use this config file. */
function containerdsOn(config: string): number {
  let n = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("containerd") && argv.includes(config)) n++;
    } catch {}
  }
  return n;
}
