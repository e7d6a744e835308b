/**
 * CtrRuntime against a real containerd started in a temp directory: the runtime contract (with
 * real pod UTS namespaces), an OOM kill, and the containerd start/stop helper. Skips with a reason when containerd, ctr, runc or
 * busybox are missing or we are not root, except under CI=true.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@skiff/component-base";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { startContainerd } from "../src/runtime/containerd.js";
import { CtrRuntime } from "../src/runtime/ctr/runtime.js";
import { UnshareUTSNamespaces } from "../src/uts/unshare.js";
import { buildBusyboxImage } from "./oci-image.js";
import { randomContainerId, runtimeContract } from "./runtime-contract.js";

const loggerPath = resolve(fileURLToPath(new URL("../assets/skiff-logger", import.meta.url)));

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  for (const bin of ["containerd", "ctr", "runc", "busybox", "nsenter", "unshare", "umount"]) {
    try {
      execFileSync("sh", ["-c", 'command -v "$0"', bin], { stdio: "ignore" });
    } catch {
      return `${bin} not found`;
    }
  }
  if (!existsSync("/bin/busybox")) return "/bin/busybox not found";
  return undefined;
}

const why = missing();
if (why && process.env.CI !== "true") {
  t.comment(`skipping the ctr runtime tests: ${why}`);
  t.pass("skipped");
} else {
  const suffix = randomContainerId().slice(0, 6);
  const node = `kt${suffix}`;
  const namespace = `skiff-${node}`;
  const cgroupRoot = `skiff-${node}`;
  const imageRef = `skiff.test/busybox:${suffix}`;
  let base = "";
  let containerd: Awaited<ReturnType<typeof startContainerd>> | undefined;
  let tar = "";

  t.before(async () => {
    base = await mkdtemp(join(tmpdir(), "skiff-ctr-"));
    containerd = await startContainerd({ dir: join(base, "containerd"), logger: silentLogger });
    tar = await buildBusyboxImage(join(base, "image"), imageRef);
  });

  t.teardown(async () => {
    if (containerd) {
      const ctr = (...a: string[]) =>
        execFileSync("ctr", ["-a", containerd?.address ?? "", "-n", namespace, ...a], { encoding: "utf8" });
      try {
        for (const id of ctr("containers", "ls", "-q").split("\n").filter(Boolean)) {
          try {
            ctr("tasks", "delete", "-f", id);
          } catch {}
          ctr("containers", "delete", id);
        }
        for (const ref of ctr("images", "ls", "-q").split("\n").filter(Boolean)) ctr("images", "rm", ref);
      } catch (e) {
        t.comment(`cleanup: ${String(e)}`);
      }
      await containerd.stop();
    }
    // runc leaves the parent cgroup directories; remove the node's tree, deepest first.
    for (const ctl of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
      await removeCgroupTree(join("/sys/fs/cgroup", ctl, cgroupRoot));
    }
    // Overlay mounts under the temp dir are gone with their tasks; unmount any straggler.
    const mounts = execFileSync("cat", ["/proc/self/mounts"], { encoding: "utf8" });
    for (const line of mounts.split("\n")) {
      const target = line.split(" ")[1];
      if (base && target?.startsWith(base)) execFileSync("umount", ["-l", target]);
    }
    if (base) await rm(base, { recursive: true, force: true });
  });

  const makeRuntime = (stateDir: string) =>
    new CtrRuntime({
      address: containerd?.address ?? "",
      namespace,
      stateDir,
      loggerPath,
      logger: silentLogger,
      runcRoot: join(base, "runc"),
    });

  runtimeContract(t, "CtrRuntime", async () => {
    const stateDir = join(base, "runtime");
    return {
      runtime: makeRuntime(stateDir),
      cleanup: async () => {},
      imageRef,
      imageTar: tar,
      reopen: async () => makeRuntime(stateDir),
      realPids: true,
      uts: new UnshareUTSNamespaces({ dir: join(base, "uts"), logger: silentLogger }),
    };
  });

  t.test("UnshareUTSNamespaces: reuse after a restart, an interrupted set-up, node teardown", async (t) => {
    const dir = join(base, "uts-node");
    const uts = () => new UnshareUTSNamespaces({ dir, logger: silentLogger });
    const a = randomContainerId().slice(0, 32);
    const b = randomContainerId().slice(0, 32);
    t.teardown(() => uts().tearDownNode());
    const nsId = (path: string) => statSync(path).ino;
    const hostnameIn = (path: string) =>
      execFileSync("nsenter", [`--uts=${path}`, "hostname"], { encoding: "utf8" }).trim();
    const pathA = await uts().setUpPod(a, "pod-a");
    t.equal(hostnameIn(pathA), "pod-a", "the hostname is set in the namespace");
    const first = nsId(pathA);
    t.equal(await uts().setUpPod(a, "pod-a"), pathA);
    t.equal(nsId(pathA), first, "a new agent reuses the namespace it finds");
    // What a set-up interrupted between the file and the mount leaves: made again.
    const pathB = join(dir, b);
    await writeFile(pathB, "");
    t.equal(await uts().setUpPod(b, "pod-b"), pathB);
    t.equal(hostnameIn(pathB), "pod-b");
    t.not(nsId(pathB), nsId(pathA), "one namespace per pod");
    t.same((await uts().listPods()).sort(), [a, b].sort());
    await t.rejects(uts().setUpPod("../x", "p"), /invalid pod UID/);
    await t.rejects(uts().setUpPod(randomContainerId().slice(0, 32), "-n"), /invalid hostname/);
    await uts().tearDownNode();
    t.notOk(existsSync(dir), "every namespace file and the directory are gone");
    t.notOk(
      execFileSync("cat", ["/proc/self/mounts"], { encoding: "utf8" }).includes(dir),
      "nothing stays mounted",
    );
  });

  t.test("a container past its memory limit is OOMKilled with 137", async (t) => {
    const rt = makeRuntime(join(base, "runtime-oom"));
    const id = randomContainerId();
    t.teardown(async () => {
      await rt.removeContainer(id);
      await rt.close();
    });
    const events: string[] = [];
    rt.onEvent((e) => {
      if (e.id === id) events.push(e.type);
    });
    await rt.createContainer({
      id,
      image: imageRef,
      args: ["sh", "-c", 'x=$(head -c 67108864 /dev/zero | tr "\\0" a); sleep 1'],
      env: [],
      mounts: [],
      labels: {},
      logPath: join(base, "logs", `${id}.log`),
      cgroupsPath: `/${cgroupRoot}/oom/${id}`,
      memoryLimitBytes: 32 * 1024 * 1024,
    });
    await rt.startContainer(id);
    const s = await waitFor(
      async () => {
        const s = await rt.containerStatus(id);
        return s?.state === "exited" ? s : undefined;
      },
      { what: "the OOM kill" },
    );
    t.equal(s.exitCode, 137);
    t.equal(s.reason, "OOMKilled");
    t.ok(events.includes("oom"), "oom event");
  });

  t.test("hostname, env, cwd, mounts and cgroup limits reach the container", async (t) => {
    const rt = makeRuntime(join(base, "runtime-cfg"));
    const id = randomContainerId();
    const hostDir = await mkdtemp(join(base, "mnt-"));
    t.teardown(async () => {
      await rt.removeContainer(id);
      await rt.close();
    });
    await rt.createContainer({
      id,
      image: imageRef,
      args: ["sleep", "3600"],
      env: [{ name: "GREETING", value: "a b=c" }],
      workingDir: "/tmp",
      mounts: [{ hostPath: hostDir, containerPath: "/data", readOnly: true }],
      labels: {},
      logPath: join(base, "logs", `${id}.log`),
      hostname: "pod-a",
      cgroupsPath: `/${cgroupRoot}/cfg/${id}`,
      memoryLimitBytes: 64 * 1024 * 1024,
      cpuLimitCores: 0.5,
      cpuShares: 512,
    });
    await rt.startContainer(id);
    const r = await rt.execSync(id, ["sh", "-c", 'hostname; echo "$GREETING"; pwd; touch /data/x'], 10_000);
    t.equal(r.stdout.toString(), "pod-a\na b=c\n/tmp\n");
    t.not(r.exitCode, 0, "read-only mount refuses writes");
    const cg = (ctl: string, file: string) =>
      execFileSync("cat", [join("/sys/fs/cgroup", ctl, cgroupRoot, "cfg", id, file)], {
        encoding: "utf8",
      }).trim();
    t.equal(cg("memory", "memory.limit_in_bytes"), String(64 * 1024 * 1024));
    t.equal(cg("cpu", "cpu.cfs_quota_us"), "50000");
    t.equal(cg("cpu", "cpu.shares"), "512");
    const tty = await rt.exec(id, { cmd: ["sh", "-c", "test -t 0 && echo tty"], tty: true });
    const out: Buffer[] = [];
    tty.stdout.on("data", (d: Buffer) => out.push(d));
    tty.stderr.resume();
    t.equal(await tty.exited, 0, "tty exec exits 0");
    t.match(Buffer.concat(out).toString(), /tty/, "the process has a terminal");
  });
}

async function removeCgroupTree(dir: string): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}
