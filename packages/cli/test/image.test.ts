/**
 * `skiff image`: build writes an archive named after the tag, busybox writes the busybox image,
 * import explains what is wrong when the archive or containerd is not there. (A real import and
 * run are in the kubelet's image test.)
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { findStaticBusybox } from "@skiff/kubelet";
import t, { type Test } from "tap";
import type { CommandIO } from "../src/command.js";
import { main } from "../src/index.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";

function capture(): CommandIO & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    out: (s: string) => {
      io.stdout += s;
    },
    err: (s: string) => {
      io.stderr += s;
    },
  };
  return io;
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "skiff-cli-image-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("image build writes <tag>.tar in the working directory or -o", async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "rootfs/bin"), { recursive: true });
  writeFileSync(join(dir, "rootfs/bin/app"), "#!/bin/sh\n", { mode: 0o755 });
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const io = capture();
  t.equal(
    await main(["image", "build", "--rootfs", "rootfs", "--tag", "skiff.local/app:v1"], io),
    0,
    io.stderr,
  );
  const file = join(dir, "skiff.local_app_v1.tar");
  t.ok(existsSync(file), "default archive name");
  t.match(io.stdout, /^skiff\.local\/app:v1 sha256:[0-9a-f]{64} /);
  const x = join(dir, "x");
  mkdirSync(x);
  await promisify(execFile)("tar", ["-xf", file, "-C", x]);
  t.match(
    readFileSync(join(x, "index.json"), "utf8"),
    /"org\.opencontainers\.image\.ref\.name":"skiff\.local\/app:v1"/,
  );

  const io2 = capture();
  t.equal(await main(["image", "build", "--rootfs", "rootfs", "--tag", "a:b", "-o", "out.tar"], io2), 0);
  t.ok(existsSync(join(dir, "out.tar")), "-o");
  const io3 = capture();
  t.equal(await main(["image", "build", "--tag", "a:b"], io3), 1);
  t.match(io3.stderr, /--rootfs and --tag are required/);
});

t.test(
  "image busybox",
  {
    skip:
      !inCI && findStaticBusybox() === undefined
        ? "no static busybox (apt-get install busybox-static)"
        : false,
  },
  async (t) => {
    const dir = tempDir(t);
    const io = capture();
    t.equal(await main(["image", "busybox", "-o", join(dir, "bb.tar")], io), 0, io.stderr);
    t.match(io.stdout, /^skiff\.local\/busybox:latest sha256:/);
    t.ok(existsSync(join(dir, "bb.tar")));
  },
);

t.test("image import names what is missing", async (t) => {
  const dir = tempDir(t);
  const io = capture();
  t.equal(await main(["image", "import", join(dir, "nope.tar")], io), 1);
  t.match(io.stderr, /nope\.tar: no such file/);
  writeFileSync(join(dir, "a.tar"), "");
  const io2 = capture();
  t.equal(await main(["image", "import", join(dir, "a.tar"), "--address", join(dir, "no.sock")], io2), 1);
  t.match(io2.stderr, /containerd socket .*no\.sock does not exist/);
  const io3 = capture();
  t.equal(await main(["image", "frobnicate"], io3), 1);
  t.match(io3.stderr, /unknown subcommand/);
});
