import { cpSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { ProcCluster, waitFor } from "./procs.js";

// Damage the LevelDB files of a stopped member of a 3-process cluster: it must refuse to start
// with an error that names the damage, and the rest of the cluster must stay correct.

function flipMiddleBit(file: string): void {
  flipBits(file, 1);
}

/**
 * Flips one bit at each of `n` places spread evenly over the file. A table file also holds
 * records no load reads (log records superseded by a later save, entries below a snapshot), so one
 * flip in the middle can land where nothing looks; eight spread flips hit what a load reads.
 */
function flipBits(file: string, n: number): void {
  const buf = readFileSync(file);
  for (let i = 1; i <= n; i++) {
    const at = Math.floor((buf.length * i) / (n + 1));
    buf[at] = (buf[at] as number) ^ 0x10;
  }
  writeFileSync(file, buf);
}

t.test("a member with damaged LevelDB files refuses to start; the cluster stays correct", async (t) => {
  const c = new ProcCluster();
  t.teardown(() => c.close());
  await c.init(["a", "b", "c"]);
  await Promise.all(["a", "b", "c"].map((n) => c.start(n)));
  const leader = await c.waitLeader();
  // ~6 MiB of entries: LevelDB flushes its 4 MiB memtable into .ldb table files.
  const big = "x".repeat(30_000);
  for (let i = 0; i < 200; i++) t.equal((await c.put(leader, `big${i}`, `${i}:${big}`)).status, 200);
  const victim = ["a", "b", "c"].find((n) => n !== leader) as string;
  await waitFor(
    async () =>
      ((await c.status(victim))?.applied ?? 0) >= ((await c.status(leader))?.commit ?? 1) || undefined,
    10_000,
    "victim caught up",
  );
  await c.kill(victim, "SIGKILL");
  const dir = join(c.get(victim).dataDir, "member", "raft");
  const pristine = `${dir}.pristine`;
  cpSync(dir, pristine, { recursive: true });
  // A failed start may still make LevelDB rewrite files: every case starts from the pristine copy.
  const restore = () => {
    rmSync(dir, { recursive: true, force: true });
    cpSync(pristine, dir, { recursive: true });
  };
  const largest = (ext: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .map((f) => join(dir, f))
      .sort((x, y) => statSync(y).size - statSync(x).size)[0];

  const refuses = async (what: string, pattern: RegExp) => {
    const err = await c.start(victim).then(
      () => undefined,
      (e: Error) => e.message,
    );
    t.ok(err !== undefined, `${what}: the member refuses to start`);
    t.match(err ?? "", pattern, `${what}: the error names the damage`);
    await c.kill(victim, "SIGKILL");
    restore();
  };

  const ldb = largest(".ldb");
  t.ok(ldb !== undefined, `a table file exists (${readdirSync(dir).join(" ")})`);
  if (ldb !== undefined) {
    flipBits(ldb, 8);
    await refuses("bit flips in a table file", /corrupt raft log in .*\.ldb: LevelDB table: .*checksum/);
    truncateSync(ldb, Math.floor(statSync(ldb).size / 2));
    await refuses("truncated table file", /corrupt raft log in .*\.ldb: LevelDB table: /);
    rmSync(ldb);
    await refuses("deleted table file", /corrupt raft log in .*(missing|\.ldb)/i);
  }
  const log = largest(".log");
  if (log !== undefined && statSync(log).size > 64 * 1024) {
    flipMiddleBit(log);
    await refuses("bit flip in the write-ahead .log", /corrupt raft log in .*(missing|index)/i);
  }
  rmSync(pristine, { recursive: true, force: true });

  // Meanwhile the other two members serve, and with its files restored the member rejoins.
  const survivor = ["a", "b", "c"].find((n) => n !== victim) as string;
  t.equal((await c.put(survivor, "during", "1")).status, 200, "the cluster takes writes without it");
  await c.start(victim);
  await waitFor(
    async () => ((await c.getAll(victim, true)).during === "1" ? true : undefined),
    15_000,
    "rejoin",
  );
  const all = await c.getAll(await c.waitLeader());
  t.equal(Object.keys(all).length, 201, "every acknowledged write is there");
  t.equal(all.big199?.slice(0, 4), "199:");
});
