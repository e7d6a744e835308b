/**
 * assets/skiff-logger run as containerd's shim runs it: "key value" argv pairs, the container's
 * stdout on fd 3, stderr on fd 4, the ready pipe on fd 5.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import t from "tap";

const logger = fileURLToPath(new URL("../assets/skiff-logger", import.meta.url));

async function runLogger(args: string[], feed: (out: Writable, err: Writable) => Promise<void>) {
  const child = spawn(logger, args, { stdio: ["ignore", "inherit", "inherit", "pipe", "pipe", "pipe"] });
  const ready = (child.stdio as unknown as Readable[])[5] as Readable;
  ready.resume();
  await once(ready, "end"); // the logger closed fd 5: it is ready
  await feed(child.stdio[3] as Writable, child.stdio[4] as Writable);
  const [code] = await once(child, "close");
  return code as number;
}

const end = (w: Writable, data: string) => new Promise<void>((resolve) => w.end(data, () => resolve()));

t.test("CRI lines for both streams, P for long and unterminated lines", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "skiff-logger-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "0.log");
  const long = "x".repeat(16 * 1024 + 10);
  const code = await runLogger(["max-files", "5", "path", path], async (out, err) => {
    await end(err, "oops\n");
    await end(out, `hello\n${long}\ntail`);
  });
  t.equal(code, 0);
  const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
  for (const l of lines) t.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] /);
  const body = lines.map((l) =>
    l
      .split(" ")
      .slice(1)
      .join(" ")
      .replace(/x+/, (m) => `x*${m.length}`),
  );
  t.ok(body.includes("stderr F oops"));
  const out = body.filter((b) => b.startsWith("stdout"));
  t.same(out, ["stdout F hello", "stdout P x*16384", "stdout F x*10", "stdout P tail"]);
});

t.test("rotates past max-size and keeps max-files files", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "skiff-logger-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "0.log");
  const code = await runLogger(["path", path, "max-size", "200", "max-files", "3"], async (out, err) => {
    err.end();
    for (let i = 0; i < 20; i++) out.write(`line ${i} ${"y".repeat(40)}\n`);
    await end(out, "");
  });
  t.equal(code, 0);
  const files = (await readdir(dir)).sort();
  t.equal(files.length, 3, `three files: ${files.join(" ")}`);
  t.equal(files[0], "0.log");
  for (const f of files.slice(1)) t.match(f, /^0\.log\.\d{8}-\d{6}(\.\d+)?$/);
  const last = await readFile(path, "utf8");
  t.match(last, /line 19 /, "the newest line is in the live file");
});
