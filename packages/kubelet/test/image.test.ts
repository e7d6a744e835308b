/**
 * The OCI image writer: tar entries as GNU tar reads them back, deterministic digests, the
 * busybox rootfs, ensureBusyboxImage's skip, and (with containerd, ctr and a static busybox on
 * the machine) a real `ctr images import` and `ctr run` of the busybox image serving httpd.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import {
  buildImage,
  busyboxImageRef,
  busyboxRootfs,
  ensureBusyboxImage,
  findStaticBusybox,
  TarWriter,
} from "../src/index.js";

const run = promisify(execFile);
const inCI = process.env.CI === "true" || process.env.CI === "1";

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("tar entries read back by GNU tar, long names through pax headers", async (t) => {
  const dir = tempDir(t, "skiff-tar-");
  const longDir = `${"d".repeat(120)}/${"e".repeat(90)}`;
  const longName = `${longDir}/${"f".repeat(110)}.txt`;
  const longTarget = `/${"t".repeat(150)}`;
  const w = new TarWriter();
  w.directory("a", { mode: 0o750 });
  w.file("a/x.sh", "#!/bin/sh\necho hi\n", { mode: 0o755 });
  w.file("a/empty", "", { mode: 0o600 });
  w.symlink("a/link", "x.sh");
  w.directory(longDir, { mode: 0o755 });
  w.file(longName, "long", { mode: 0o644 });
  w.symlink("a/longlink", longTarget);
  const archive = join(dir, "a.tar");
  writeFileSync(archive, w.finish());
  t.equal(statSync(archive).size % 512, 0, "whole blocks");
  const out = join(dir, "out");
  mkdirSync(out);
  await run("tar", ["-xf", archive, "-C", out]);
  t.equal(readFileSync(join(out, "a/x.sh"), "utf8"), "#!/bin/sh\necho hi\n");
  t.equal(statSync(join(out, "a/x.sh")).mode & 0o777, 0o755);
  t.equal(statSync(join(out, "a/empty")).mode & 0o777, 0o600);
  t.equal(statSync(join(out, "a")).mode & 0o777, 0o750);
  t.equal(readlinkSync(join(out, "a/link")), "x.sh");
  t.equal(readlinkSync(join(out, "a/longlink")), longTarget, "long symlink target");
  t.equal(readFileSync(join(out, longName), "utf8"), "long", "long path");
  const listing = (await run("tar", ["-tf", archive])).stdout.split("\n");
  t.notOk(
    listing.some((l) => l.includes("PaxHeaders")),
    "pax headers are not entries",
  );
});

t.test("buildImage: OCI layout, named index, same rootfs same digest", async (t) => {
  const dir = tempDir(t, "skiff-oci-");
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  writeFileSync(join(rootfs, "bin/hello"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
  symlinkSync("hello", join(rootfs, "bin/hi"));
  const config = { Entrypoint: ["/bin/hello"], Env: ["A=1"], WorkingDir: "/" };
  const a = buildImage({ rootfs, ref: "skiff.local/hello:v1", config, out: join(dir, "a.tar") });
  const b = buildImage({ rootfs, ref: "skiff.local/hello:v1", config, out: join(dir, "b.tar") });
  t.equal(a.manifestDigest, b.manifestDigest, "deterministic manifest digest");
  t.same(readFileSync(a.file), readFileSync(b.file), "byte-identical archives");
  writeFileSync(join(rootfs, "bin/hello"), "#!/bin/sh\necho changed\n", { mode: 0o755 });
  const c = buildImage({ rootfs, ref: "skiff.local/hello:v1", config, out: join(dir, "c.tar") });
  t.not(c.diffId, a.diffId, "a changed file changes the layer");

  const out = join(dir, "x");
  mkdirSync(out);
  await run("tar", ["-xf", a.file, "-C", out]);
  t.same(JSON.parse(readFileSync(join(out, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
  const desc = index.manifests[0];
  t.equal(desc.digest, a.manifestDigest);
  t.equal(desc.annotations["org.opencontainers.image.ref.name"], "skiff.local/hello:v1");
  t.equal(desc.annotations["io.containerd.image.name"], "skiff.local/hello:v1");
  const blob = (d: string) => readFileSync(join(out, "blobs/sha256", d.replace("sha256:", "")));
  const manifest = JSON.parse(blob(a.manifestDigest).toString());
  const cfg = JSON.parse(blob(manifest.config.digest).toString());
  t.equal(cfg.architecture, "amd64");
  t.equal(cfg.os, "linux");
  t.same(cfg.rootfs.diff_ids, [a.diffId]);
  t.same(cfg.config.Entrypoint, ["/bin/hello"]);
  t.ok(cfg.config.Env.includes("A=1") && cfg.config.Env.some((e: string) => e.startsWith("PATH=")));
  const layerDir = join(dir, "layer");
  mkdirSync(layerDir);
  const layerFile = join(out, "blobs/sha256", manifest.layers[0].digest.replace("sha256:", ""));
  await run("tar", ["-xzf", layerFile, "-C", layerDir]);
  t.equal(readFileSync(join(layerDir, "bin/hello"), "utf8"), "#!/bin/sh\necho hello\n");
  t.equal(readlinkSync(join(layerDir, "bin/hi")), "hello");
});

const busybox = findStaticBusybox();

t.test(
  "busyboxRootfs and ensureBusyboxImage",
  { skip: !inCI && busybox === undefined ? "no static busybox (apt-get install busybox-static)" : false },
  async (t) => {
    const dir = tempDir(t, "skiff-bb-");
    const rootfs = join(dir, "rootfs");
    busyboxRootfs(rootfs);
    t.ok(statSync(join(rootfs, "bin/busybox")).isFile());
    t.equal(readlinkSync(join(rootfs, "bin/sh")), "/bin/busybox");
    t.ok(lstatSync(join(rootfs, "usr/sbin/httpd")).isSymbolicLink(), "httpd applet link");
    t.match(readFileSync(join(rootfs, "etc/passwd"), "utf8"), /^root:x:0:0:/);
    t.equal(statSync(join(rootfs, "tmp")).mode & 0o7777, 0o1777);

    const images = join(dir, "images");
    const file = ensureBusyboxImage(images);
    const first = statSync(file).mtimeMs;
    t.equal(ensureBusyboxImage(images), file);
    t.equal(statSync(file).mtimeMs, first, "skipped when present and current");
    writeFileSync(`${file}.key`, "stale");
    ensureBusyboxImage(images);
    t.not(readFileSync(`${file}.key`, "utf8"), "stale", "rebuilt when the key changed");
  },
);

function missingForCtr(): string | undefined {
  for (const bin of ["containerd", "ctr", "runc"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    } catch {
      return `${bin} not found`;
    }
  }
  if (busybox === undefined) return "no static busybox";
  if (process.getuid?.() !== 0) return "containerd needs root";
  return undefined;
}

const ctrMissing = missingForCtr();

t.test(
  "ctr imports the busybox image and runs its httpd",
  { skip: !inCI && ctrMissing !== undefined ? ctrMissing : false },
  async (t) => {
    const dir = tempDir(t, "skiff-ctd-");
    const file = ensureBusyboxImage(join(dir, "images"));
    writeFileSync(
      join(dir, "config.toml"),
      'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n',
    );
    const sock = join(dir, "containerd.sock");
    const containerd: ChildProcess = spawn(
      "containerd",
      [
        "--config",
        join(dir, "config.toml"),
        "--root",
        join(dir, "root"),
        "--state",
        join(dir, "state"),
        "--address",
        sock,
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise<void>((resolve) => containerd.once("exit", () => resolve()));
    const ns = `skiff-img-${randomBytes(3).toString("hex")}`;
    const ctr = (...args: string[]) => run("ctr", ["-a", sock, "-n", ns, ...args], { timeout: 60_000 });
    const fifo = join(dir, "fifo");
    const id = "web";
    t.teardown(async () => {
      // Everything this test made inside containerd goes before containerd stops (its mounts
      // would otherwise stay behind); each step may fail when an earlier one never happened.
      await ctr("tasks", "kill", "-s", "KILL", id).catch(() => {});
      await waitFor(
        async () =>
          await ctr("tasks", "delete", id).then(
            () => true,
            (e) => /not found/.test(String(e)),
          ),
        { what: "task deleted" },
      ).catch(() => {});
      await ctr("containers", "delete", id).catch(() => {});
      await ctr("images", "rm", busyboxImageRef).catch(() => {});
      await run("ctr", ["-a", sock, "namespaces", "rm", ns]).catch(() => {});
      containerd.kill("SIGTERM");
      await exited; // containerd takes over a second to exit: wait for the process itself
      // runc leaves the container's cgroup directories (ctr's default parent is /<namespace>).
      for (const hierarchy of readdirSync("/sys/fs/cgroup"))
        for (const d of [join("/sys/fs/cgroup", hierarchy, ns, id), join("/sys/fs/cgroup", hierarchy, ns)])
          try {
            rmdirSync(d);
          } catch {}
    });
    await waitFor(() => existsSync(sock), { what: "containerd's socket" });

    const imported = await ctr("images", "import", file);
    t.match(imported.stdout, /skiff\.local\/busybox:latest/);
    const ls = await ctr("images", "ls", "-q");
    t.ok(ls.stdout.split("\n").includes(busyboxImageRef), `ctr shows ${busyboxImageRef}`);

    await ctr(
      "run",
      "-d",
      "--fifo-dir",
      fifo,
      "--runc-root",
      join(dir, "runc"),
      busyboxImageRef,
      id,
      "httpd",
      "-f",
      "-p",
      "80",
      "-h",
      "/etc",
    );
    // Traffic stays inside the container's own network namespace: wget runs there too.
    const body = await waitFor(
      async () =>
        (
          await ctr(
            "tasks",
            "exec",
            "--fifo-dir",
            fifo,
            "--exec-id",
            `w${randomBytes(3).toString("hex")}`,
            id,
            "timeout",
            "5",
            "wget",
            "-q",
            "-O",
            "-",
            "http://127.0.0.1:80/passwd",
          )
        ).stdout,
      { what: "httpd to serve /etc/passwd" },
    );
    t.match(body, /^root:x:0:0:/);
  },
);
