/**
 * The contract every ContainerRuntime passes (the real one on containerd and the fake), as CRI's
 * critest validates runtimes against one suite. Containers run busybox programs; a fake runtime
 * recognises the argvs in `contractPrograms` and behaves as the comment on each says.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@skiff/testkit";
import type { Test } from "tap";
import type {
  ContainerConfig,
  ContainerRuntime,
  ContainerStatus,
  RuntimeEvent,
} from "../src/runtime/runtime.js";
import type { PodUTSNamespaces } from "../src/uts/uts.js";

export interface RuntimeFixture {
  runtime: ContainerRuntime;
  /** Removes what the fixture made (the contract removes its own containers). */
  cleanup: () => Promise<void>;
  /** An image the runtime holds, or will once imageTar is imported. */
  imageRef: string;
  /** When set, the suite imports it and expects imageRef among the images it returns. */
  imageTar?: string;
  /** A network namespace path for containers; absent: the host's. */
  netns?: string;
  /** A new runtime object over the same state (the agent restarting); absent: skip that test. */
  reopen?: () => Promise<ContainerRuntime>;
  /** Whether status pids are real host pids (the restart test then waits for the process to end). */
  realPids?: boolean;
  /** Makes pod UTS namespaces the runtime's containers can join; absent: skip that test. */
  uts?: PodUTSNamespaces;
}

/** The programs the suite runs, with the behaviour a fake must give them. */
export const contractPrograms = {
  /** Runs until killed; as PID 1 it ignores SIGTERM. */
  sleep: ["sleep", "3600"],
  /** Writes "ready" to stdout once it exits 143 on SIGTERM. */
  trapTerm: ["sh", "-c", "trap 'exit 143' TERM; echo ready; while true; do sleep 0.1; done"],
  /** Writes "out" to stdout and "err" to stderr, then exits 3. */
  exit3: ["sh", "-c", "echo out; echo err >&2; exit 3"],
  /** Exits 5 after about a second. */
  exit5Later: ["sh", "-c", "sleep 1; exit 5"],
  /** Writes the hostname of the UTS namespace it started in to stdout, then exits 0. */
  hostname: ["hostname"],
} as const;

export function randomContainerId(): string {
  return randomBytes(32).toString("hex");
}

export function runtimeContract(t: Test, name: string, makeRuntime: () => Promise<RuntimeFixture>): void {
  t.test(`${name}: ContainerRuntime contract`, async (t) => {
    const fx = await makeRuntime();
    const rt = fx.runtime;
    const logDir = await mkdtemp(join(tmpdir(), "skiff-rtc-"));
    const made: string[] = [];
    const reopened: ContainerRuntime[] = [];
    t.teardown(async () => {
      for (const id of made) await rt.removeContainer(id).catch(() => undefined);
      for (const r of reopened) await r.close().catch(() => undefined);
      await rt.close();
      await fx.cleanup();
      await rm(logDir, { recursive: true, force: true });
    });
    const events: RuntimeEvent[] = [];
    rt.onEvent((e) => events.push(e));

    const config = (args: readonly string[], extra: Partial<ContainerConfig> = {}): ContainerConfig => {
      const id = randomContainerId();
      made.push(id);
      return {
        id,
        image: fx.imageRef,
        args,
        env: [{ name: "SKIFF_TEST", value: "1" }],
        mounts: [],
        netnsPath: fx.netns,
        labels: { "io.kubernetes.container.name": "c", "io.kubernetes.pod.uid": "uid-1" },
        logPath: join(logDir, `${id}.log`),
        ...extra,
      };
    };
    const status = async (r: ContainerRuntime, id: string) =>
      (await r.listContainers()).find((c) => c.id === id);
    const until = (id: string, what: string, ok: (s: ContainerStatus) => boolean, r: ContainerRuntime = rt) =>
      waitFor(
        async () => {
          const s = await status(r, id);
          return s && ok(s) ? s : undefined;
        },
        { what: `${id.slice(0, 8)} ${what}` },
      );
    const run = async (args: readonly string[], extra: Partial<ContainerConfig> = {}) => {
      const cfg = config(args, extra);
      await rt.createContainer(cfg);
      await rt.startContainer(cfg.id);
      return cfg;
    };

    await t.test("images: listed after import", async (t) => {
      if (fx.imageTar) {
        const refs = await rt.importImage(fx.imageTar);
        t.ok(
          refs.some((i) => i.ref === fx.imageRef),
          "import returns the ref",
        );
      }
      const img = (await rt.listImages()).find((i) => i.ref === fx.imageRef);
      t.ok(img, "listed");
      t.match(img?.id, /^sha256:[0-9a-f]{64}$/, "id is a digest");
      t.ok((img?.size ?? 0) > 0, "size");
    });

    await t.test("version", async (t) => {
      const v = await rt.version();
      t.ok(v.runtimeName && v.runtimeVersion, `${v.runtimeName} ${v.runtimeVersion}`);
    });

    await t.test("create, start: running with pid and startedAt; labels round-trip", async (t) => {
      const cfg = config(contractPrograms.sleep);
      await rt.createContainer(cfg);
      const created = await status(rt, cfg.id);
      t.equal(created?.state, "created", "created before start");
      await rt.startContainer(cfg.id);
      const s = await until(cfg.id, "running", (s) => s.state === "running");
      t.ok((s.pid ?? 0) > 0, "pid");
      t.ok((s.startedAt ?? 0) > 0, "startedAt");
      t.ok(s.createdAt > 0, "createdAt");
      t.same(s.labels, cfg.labels, "labels round-trip");
      t.equal(s.image, fx.imageRef);
      t.match(s.imageId, /^sha256:/);
      t.equal(s.logPath, cfg.logPath);
      t.same(await rt.containerStatus(cfg.id), s, "containerStatus agrees with listContainers");

      await t.rejects(rt.createContainer({ ...cfg }), /exists/, "duplicate id rejected");

      await rt.signalContainer(cfg.id, "SIGKILL");
      const k = await until(cfg.id, "killed", (s) => s.state === "exited");
      t.equal(k.exitCode, 137, "SIGKILL: 137");
      await rt.signalContainer(cfg.id, "SIGKILL"); // no-op once exited
      await rt.removeContainer(cfg.id);
      await rt.removeContainer(cfg.id);
      t.notOk(await status(rt, cfg.id), "gone after remove (twice)");
      t.equal(await rt.containerStatus(cfg.id), undefined);
    });

    await t.test("exit code, finishedAt, exit event, logs in CRI format", async (t) => {
      const cfg = await run(contractPrograms.exit3);
      const s = await until(cfg.id, "exited", (s) => s.state === "exited");
      t.equal(s.exitCode, 3);
      t.ok((s.finishedAt ?? 0) >= (s.startedAt ?? 0) && (s.finishedAt ?? 0) > 0, "finishedAt");
      t.notOk(s.reason, "no reason");
      await waitFor(() => events.find((e) => e.type === "exit" && e.id === cfg.id && e.exitCode === 3), {
        what: "exit event",
      });
      const log = await waitFor(
        async () => {
          const text = await readFile(cfg.logPath, "utf8").catch(() => "");
          return /stderr F err/.test(text) && /stdout F out/.test(text) ? text : undefined;
        },
        { what: "both streams in the log" },
      );
      for (const line of log.trimEnd().split("\n"))
        t.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z (stdout|stderr) [FP] /, "CRI log line");
    });

    await t.test("SIGTERM reaches the process", async (t) => {
      const cfg = await run(contractPrograms.trapTerm);
      // Before the trap is set, SIGTERM to PID 1 would be ignored: wait for "ready".
      await waitFor(async () => /stdout F ready/.test(await readFile(cfg.logPath, "utf8").catch(() => "")), {
        what: "ready in the log",
      });
      await rt.signalContainer(cfg.id, "SIGTERM");
      const s = await until(cfg.id, "exited on SIGTERM", (s) => s.state === "exited");
      t.equal(s.exitCode, 143);
    });

    await t.test("missing image rejected", async (t) => {
      await t.rejects(
        rt.createContainer(config(contractPrograms.sleep, { image: "skiff.test/absent:0" })),
        /skiff\.test\/absent:0.*not found|not found.*skiff\.test\/absent:0/,
      );
    });

    await t.test("exec: stdout, stderr, exit code, stdin; execSync timeout", async (t) => {
      const cfg = await run(contractPrograms.sleep);
      await until(cfg.id, "running", (s) => s.state === "running");
      const r = await rt.execSync(cfg.id, ["sh", "-c", "echo hi; echo oops >&2; exit 4"], 10_000);
      t.equal(r.exitCode, 4);
      t.equal(r.stdout.toString(), "hi\n");
      t.equal(r.stderr.toString(), "oops\n");
      t.notOk(r.timedOut);

      const s = await rt.exec(cfg.id, { cmd: ["cat"], stdin: true });
      const out: Buffer[] = [];
      s.stdout.on("data", (d: Buffer) => out.push(d));
      s.stderr.resume();
      s.stdin?.end("ping\n");
      t.equal(await s.exited, 0, "cat exits 0 at end of stdin");
      t.equal(Buffer.concat(out).toString(), "ping\n", "stdin echoed");

      const started = Date.now();
      const slow = await rt.execSync(cfg.id, ["sleep", "30"], 500);
      t.ok(slow.timedOut, "timed out");
      t.not(slow.exitCode, 0, `killed (exit ${slow.exitCode})`);
      t.ok(Date.now() - started < 20_000, "did not wait for the command");
      await rt.removeContainer(cfg.id);
    });

    const uts = fx.uts;
    await t.test(
      "a container joining a pod UTS namespace has its hostname from its first instruction",
      { skip: uts ? false : "the fixture makes no UTS namespaces" },
      async (t) => {
        if (!uts) return;
        const uid = randomBytes(16).toString("hex");
        t.teardown(() => uts.tearDownPod(uid));
        const path = await uts.setUpPod(uid, "mypod");
        t.equal(await uts.setUpPod(uid, "mypod"), path, "a second set-up reuses the namespace");
        t.ok((await uts.listPods()).includes(uid), "listed");
        // Two containers of one pod: each prints the name as its very first action, and exits.
        const cfgs = [
          await run(contractPrograms.hostname, { utsPath: path }),
          await run(contractPrograms.hostname, { utsPath: path }),
        ];
        for (const cfg of cfgs) {
          const s = await until(cfg.id, "exited", (s) => s.state === "exited");
          t.equal(s.exitCode, 0, "hostname exits 0");
          const line = await waitFor(
            async () => /stdout F (.*)\n/.exec(await readFile(cfg.logPath, "utf8").catch(() => ""))?.[1],
            { what: "the hostname in the log" },
          );
          t.equal(line, "mypod", "the pod's hostname, not the host's");
          await rt.removeContainer(cfg.id);
        }
        await uts.tearDownPod(uid);
        await uts.tearDownPod(uid);
        t.notOk((await uts.listPods()).includes(uid), "not listed after teardown (twice)");
        t.notOk(existsSync(path), "the namespace file is gone");
      },
    );

    const reopen = fx.reopen;
    await t.test(
      "exits while no runtime watched are reported after a restart",
      {
        skip: reopen ? false : "the fixture cannot reopen its runtime",
      },
      async (t) => {
        if (!reopen) return;
        const first = await reopen();
        reopened.push(first);
        const cfg = config(contractPrograms.exit5Later);
        await first.createContainer(cfg);
        await first.startContainer(cfg.id);
        const running = await until(cfg.id, "running", (s) => s.state === "running", first);
        await first.close();
        if (fx.realPids && running.pid) {
          const pid = running.pid;
          await waitFor(
            () => {
              try {
                process.kill(pid, 0);
                return false;
              } catch {
                return true;
              }
            },
            { what: "the process to end" },
          );
        }
        const second = await reopen();
        reopened.push(second);
        const s = await until(cfg.id, "exited", (s) => s.state === "exited", second);
        t.equal(s.exitCode, 5);
        t.ok((s.finishedAt ?? 0) > 0, "finishedAt");
        t.same(s.labels, cfg.labels, "labels");
        const again = await reopen();
        reopened.push(again);
        t.equal((await status(again, cfg.id))?.exitCode, 5, "still reported by a third runtime object");
      },
    );
  });
}
