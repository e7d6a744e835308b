/**
 * CgroupfsPodCgroups against the machine's real cgroup hierarchies (v1 here; v2 file names when
 * the machine is v2). Needs root; skips off CI when cgroups cannot be written. Each test uses
 * its own node root and removes it in teardown.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Container, Pod } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { CgroupfsPodCgroups } from "../src/cm/cgroupfs.js";
import { detectCgroupLayout } from "../src/cm/hierarchy.js";

const logger = { info() {}, warn() {}, error() {}, debug() {} };

function missingPart(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to write cgroups";
  const layout = detectCgroupLayout();
  const probe =
    layout.version === 2
      ? layout.mountPoint
      : layout.mounts.find((m) => m.controllers.includes("memory"))?.mountPoint;
  if (probe === undefined) return "no memory cgroup hierarchy is mounted";
  const dir = join(probe, `skiff-probe-${randomBytes(3).toString("hex")}`);
  try {
    mkdirSync(dir);
    rmdirSync(dir);
  } catch (e) {
    return `cannot create cgroups under ${probe}: ${(e as Error).message}`;
  }
  return undefined;
}
const missing = missingPart();
if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping: ${missing}`);
const skip = process.env.CI === undefined ? missing : undefined;

function c(name: string, requests?: Record<string, string>, limits?: Record<string, string>): Container {
  return { name, image: "busybox", resources: { requests, limits } };
}
function pod(containers: Container[]): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: randomUUID() },
    spec: { containers },
  } as Pod;
}

/** Every directory of the tree at base+root (to check that nothing is left). */
function bases(cg: CgroupfsPodCgroups): string[] {
  const l = cg.layout;
  if (l.version === 2) return [l.mountPoint];
  return [...l.mounts.map((m) => m.mountPoint), ...(l.hybrid === undefined ? [] : [l.hybrid])];
}
function leftovers(cg: CgroupfsPodCgroups, sub = ""): string[] {
  return bases(cg)
    .map((b) => join(b, cg.root, sub))
    .filter((d) => existsSync(d));
}

function newNode(t: Test, procs: ChildProcess[] = []) {
  const cg = new CgroupfsPodCgroups({ nodeName: `kt${randomBytes(3).toString("hex")}`, logger });
  t.teardown(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await waitFor(() => procs.every((p) => p.exitCode !== null || p.signalCode !== null), {
      what: "test processes to exit",
    });
    await cg.removeNode();
  });
  return cg;
}

function read(base: string, path: string, file: string): string {
  return readFileSync(join(base, path, file), "utf8").trim();
}

t.test("ensurePod writes kube's pod-level limits in the QoS tree", { skip }, async (t) => {
  const cg = newNode(t);
  const guaranteed = pod([
    c("a", undefined, { cpu: "500m", memory: "64Mi" }),
    c("b", undefined, { cpu: "250m", memory: "32Mi" }),
  ]);
  const burstable = pod([
    c("a", { cpu: "100m" }, { memory: "64Mi" }),
    c("b", { cpu: "300m" }, { memory: "16Mi" }),
  ]);
  const besteffort = pod([c("a")]);
  const gp = await cg.ensurePod(guaranteed);
  const bp = await cg.ensurePod(burstable);
  const ep = await cg.ensurePod(besteffort);
  t.equal(gp, `${cg.root}/kubepods/pod${guaranteed.metadata?.uid}`);
  t.equal(bp, `${cg.root}/kubepods/burstable/pod${burstable.metadata?.uid}`);
  t.equal(ep, `${cg.root}/kubepods/besteffort/pod${besteffort.metadata?.uid}`);
  t.equal(await cg.ensurePod(guaranteed), gp, "idempotent");
  t.equal(cg.podPath(burstable), bp);
  t.same(await cg.listPods(), [guaranteed, burstable, besteffort].map((p) => p.metadata?.uid).sort());
  const l = cg.layout;
  if (l.version === 1) {
    const cpu = l.mounts.find((m) => m.controllers.includes("cpu"))?.mountPoint as string;
    const memory = l.mounts.find((m) => m.controllers.includes("memory"))?.mountPoint as string;
    t.equal(read(cpu, gp, "cpu.shares"), "768");
    t.equal(read(cpu, gp, "cpu.cfs_period_us"), "100000");
    t.equal(read(cpu, gp, "cpu.cfs_quota_us"), "75000");
    t.equal(read(memory, gp, "memory.limit_in_bytes"), String(96 * 2 ** 20));
    t.equal(read(cpu, bp, "cpu.shares"), "409");
    t.equal(read(cpu, bp, "cpu.cfs_quota_us"), "-1", "no quota without cpu limits");
    t.equal(read(memory, bp, "memory.limit_in_bytes"), String(80 * 2 ** 20));
    t.equal(read(cpu, ep, "cpu.shares"), "2");
    t.not(read(memory, ep, "memory.limit_in_bytes"), String(80 * 2 ** 20));
    t.equal(read(cpu, `${cg.root}/kubepods/besteffort`, "cpu.shares"), "2");
    t.equal(read(cpu, `${cg.root}/kubepods/burstable`, "cpu.shares"), "409", "the burstable pods' requests");
    for (const m of l.mounts)
      t.ok(existsSync(join(m.mountPoint, gp)), `the pod dir exists in ${m.controllers.join(",")}`);
    const cpuset = l.mounts.find((m) => m.controllers.includes("cpuset"))?.mountPoint;
    if (cpuset !== undefined)
      t.not(read(cpuset, gp, "cpuset.cpus"), "", "cpuset dirs get their parent's cpus");
  } else {
    t.equal(read(l.mountPoint, gp, "cpu.max"), "75000 100000");
    t.equal(read(l.mountPoint, gp, "memory.max"), String(96 * 2 ** 20));
    t.equal(read(l.mountPoint, ep, "cpu.weight"), "1");
  }
});

t.test(
  "removePod removes every dir, runc's container dirs included; the working set is read",
  { skip },
  async (t) => {
    const procs: ChildProcess[] = [];
    const cg = newNode(t, procs);
    const p = pod([c("a", undefined, { cpu: "1", memory: "256Mi" })]);
    const uid = p.metadata?.uid as string;
    const path = await cg.ensurePod(p);
    // As runc leaves it: a container dir in every hierarchy, a process in it.
    const container = `${path}/${randomBytes(32).toString("hex")}`;
    for (const b of bases(cg).filter((b) => existsSync(join(b, path)))) {
      mkdirSync(join(b, container));
      if (b.endsWith("cpuset"))
        for (const f of ["cpuset.cpus", "cpuset.mems"])
          writeFileSync(join(b, container, f), read(b, path, f));
    }
    const l = cg.layout;
    const memBase =
      l.version === 2
        ? l.mountPoint
        : (l.mounts.find((m) => m.controllers.includes("memory"))?.mountPoint as string);
    const procsFile = join(memBase, container, "cgroup.procs");
    const child = spawn(
      "/bin/sh",
      [
        "-c",
        `echo $$ > ${procsFile} && exec /usr/bin/perl -e '$x = "a" x 40_000_000; $| = 1; print "ready\\n"; sleep 60'`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    procs.push(child);
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
    });
    await waitFor(() => out.includes("ready"), { what: "the memory-holding process" });
    const ws = (await cg.podMemoryWorkingSet(uid)) ?? 0;
    t.ok(ws > 30_000_000, `working set ${ws} bytes covers the 40 MB string`);
    child.kill("SIGKILL");
    // Removed right after the kill: a cgroup still emptying answers EBUSY, which is retried.
    await cg.removePod(uid);
    t.same(leftovers(cg, path.slice(cg.root.length)), [], "no pod dir in any hierarchy");
    t.same(await cg.listPods(), []);
    t.equal(await cg.podMemoryWorkingSet(uid), undefined);
    await cg.removePod(uid);
    t.pass("a second removal is a no-op");
    await cg.removeNode();
    t.same(leftovers(cg), [], "removeNode leaves no node root");
    t.same(
      bases(cg).flatMap((b) => readdirSync(b).filter((n) => n === cg.root.slice(1))),
      [],
    );
  },
);
