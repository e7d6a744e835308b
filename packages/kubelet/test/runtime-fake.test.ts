/**
 * FakeRuntime against the runtime contract suite, so the fake the pod tests use keeps the same
 * promises as CtrRuntime: on the real clock, with CRI logs in a temp directory and an OCI layout
 * tarball made by src/image (the fake reads its index, never its layers).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "@skiff/client";
import t from "tap";
import { buildImage } from "../src/image/oci.js";
import { FakeRuntime, knownProgram } from "../src/runtime/fake.js";
import { FakeUTSNamespaces } from "../src/uts/fake.js";
import { contractPrograms, runtimeContract } from "./runtime-contract.js";

t.test("every contract program is one the fake knows", async (t) => {
  for (const [name, args] of Object.entries(contractPrograms))
    t.ok(knownProgram(args), `${name}: ${JSON.stringify(args)}`);
  t.equal(knownProgram(["sleep", "10"]), undefined, "other argvs are not guessed at");
});

runtimeContract(t, "FakeRuntime", async () => {
  const dir = await mkdtemp(join(tmpdir(), "skiff-rtf-"));
  const rootfs = join(dir, "rootfs");
  await mkdir(join(rootfs, "etc"), { recursive: true });
  await writeFile(join(rootfs, "etc", "hostname"), "fake\n");
  const imageRef = "skiff.test/fake:1";
  const image = buildImage({ rootfs, ref: imageRef, out: join(dir, "image.tar") });
  const uts = new FakeUTSNamespaces();
  const runtime = new FakeRuntime({ utsHostname: (path) => uts.hostnameAt(path) });
  return {
    runtime,
    cleanup: () => rm(dir, { recursive: true, force: true }),
    imageRef,
    imageTar: image.file,
    reopen: async () => runtime.reopen(),
    uts,
  };
});

t.test("the fake's own edges: unknown commands, kill, tty, a log it cannot write", async (t) => {
  const rt = new FakeRuntime({ clock: new FakeClock(1_000) });
  t.teardown(() => rt.close());
  rt.addImage("img:1");
  const cfg = (id: string, args: readonly string[], logPath = "/nonexistent-dir/x.log") => ({
    id,
    image: "img:1",
    args,
    env: [],
    mounts: [],
    labels: {},
    logPath,
  });
  await rt.createContainer(cfg("a", contractPrograms.sleep));
  await rt.startContainer("a");

  const unknown = await rt.execSync("a", ["sh", "-c", "echo x; nope"], 1000);
  t.same(
    [unknown.exitCode, unknown.stdout.toString(), unknown.stderr.toString()],
    [127, "x\n", "sh: nope: not found\n"],
  );
  const unsupported = await rt.execSync("a", ["sh", "-c", "echo $HOME"], 1000);
  t.equal(unsupported.exitCode, 2, "a script the fake cannot run is not pretended to succeed");
  t.equal((await rt.execSync("a", ["wget", "x"], 1000)).exitCode, 127);

  const tty = await rt.exec("a", { cmd: ["sh", "-c", "echo o; echo e >&2"], tty: true });
  const out: Buffer[] = [];
  tty.stdout.on("data", (d: Buffer) => out.push(d));
  tty.stderr.resume();
  t.equal(await tty.exited, 0);
  t.equal(Buffer.concat(out).toString(), "o\ne\n", "with a tty stderr goes to stdout");

  const hung = await rt.exec("a", { cmd: ["cat"], stdin: true });
  hung.stdout.resume();
  hung.stderr.resume();
  hung.kill();
  t.equal(await hung.exited, 137, "kill ends an exec waiting on stdin");

  await rt.signalContainer("a", "SIGTERM");
  await new Promise((r) => setImmediate(r));
  t.equal((await rt.containerStatus("a"))?.state, "running", "busybox sleep as PID 1 ignores SIGTERM");

  await rt.createContainer(cfg("b", contractPrograms.exit3));
  await t.rejects(rt.startContainer("b"), /log writer/, "the logger cannot open its file");
  t.match(await rt.containerStatus("b"), { state: "exited", exitCode: 128 });
  await rt.removeContainer("a");
  await rt.removeContainer("b");
});

t.test("a reopened fake sees an exit that happened while it was closed (fake clock)", async (t) => {
  const clock = new FakeClock(1_000);
  const first = new FakeRuntime({ clock });
  first.addImage("img:1");
  const c = {
    id: "c",
    image: "img:1",
    args: contractPrograms.exit5Later,
    env: [],
    mounts: [],
    labels: {},
    logPath: "",
  };
  await first.createContainer(c);
  await first.startContainer("c");
  const seen: string[] = [];
  first.onEvent((e) => seen.push(e.type));
  await first.close();
  clock.step(999);
  t.equal((await first.containerStatus("c"))?.state, "running");
  clock.step(1);
  t.same(seen, [], "a closed runtime delivers nothing");
  const second = first.reopen();
  t.teardown(() => second.close());
  t.match(await second.containerStatus("c"), { state: "exited", exitCode: 5, finishedAt: 2_000 });
});

t.test("a container cannot start in a UTS namespace the fake namespaces do not hold", async (t) => {
  const uts = new FakeUTSNamespaces();
  const rt = new FakeRuntime({ clock: new FakeClock(1_000), utsHostname: (p) => uts.hostnameAt(p) });
  t.teardown(() => rt.close());
  rt.addImage("img:1");
  const path = await uts.setUpPod("uid-1", "mypod");
  await uts.tearDownPod("uid-1");
  await rt.createContainer({
    id: "c",
    image: "img:1",
    args: contractPrograms.hostname,
    env: [],
    mounts: [],
    labels: {},
    logPath: "",
    utsPath: path,
  });
  await t.rejects(rt.startContainer("c"), /UTS namespace/);
  t.match(await rt.containerStatus("c"), { state: "exited", exitCode: 128 });
  const again = rt.reopen();
  t.teardown(() => again.close());
  t.equal(again.utsHostname, rt.utsHostname, "a reopened fake resolves namespaces the same way");
});
