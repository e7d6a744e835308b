/**
 * freePort never gives two processes of the suite the same port, releases its reservations at
 * exit and reclaims those of a killed process; waitFor and withDeadline name what they waited for.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import t from "tap";
import { freePort, reservationDir, reservePort, waitFor, withDeadline } from "../src/index.js";

const child = fileURLToPath(new URL("./ports-child.ts", import.meta.url));
const execArgv = process.execArgv.filter(
  (a) => a.includes("@tapjs/typescript") || a.startsWith("--conditions") || a === "--enable-source-maps",
);

/** Starts a child that reserves n ports; resolves with them once it printed them. */
function reserveIn(n: number, hold = false): { proc: ChildProcess; ports: Promise<number[]> } {
  const proc = spawn(process.execPath, [...execArgv, child, String(n), ...(hold ? ["hold"] : [])], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ports = new Promise<number[]>((resolve, reject) => {
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once("line", (l) =>
      resolve(JSON.parse(l) as number[]),
    );
    proc.once("exit", (code) => reject(new Error(`child exited with ${code} before printing its ports`)));
  });
  return { proc, ports };
}

const owner = (port: number): number | undefined => {
  try {
    return Number.parseInt(readFileSync(join(reservationDir(), String(port)), "utf8"), 10);
  } catch {
    return undefined;
  }
};

t.test("processes reserving ports at the same time never get the same one", async (t) => {
  // 3 x 150 random picks from 20,000 ports: a bind check alone (no process binds
  // them here) gives some port to two processes in about 99 runs of 100.
  const runs = [reserveIn(150), reserveIn(150), reserveIn(150)];
  const mine = await Promise.all(Array.from({ length: 50 }, () => freePort()));
  const all = [...(await Promise.all(runs.map((r) => r.ports))).flat(), ...mine];
  t.equal(all.length, 500);
  t.equal(new Set(all).size, all.length, "every port given once");
  t.ok(
    all.every((p) => p >= 10_000 && p < 30_000),
    "all below the ephemeral range",
  );
  // Every child held its ports until all had printed theirs; now they exit normally.
  await Promise.all(
    runs.map((r) => {
      const exited = new Promise((resolve) => r.proc.once("exit", resolve));
      r.proc.stdin?.end();
      return exited;
    }),
  );
  const pids = new Set(runs.map((r) => r.proc.pid));
  const left = (await Promise.all(runs.map((r) => r.ports))).flat().filter((p) => pids.has(owner(p)));
  t.same(left, [], "a process that exits releases its reservations");
  t.ok(
    mine.every((p) => owner(p) === process.pid),
    "this process still holds its own",
  );
});

t.test("a live process's reservation holds; a killed one's is reclaimed", async (t) => {
  const held = reserveIn(5, true);
  t.teardown(() => held.proc.kill("SIGKILL"));
  const ports = await held.ports;
  t.same(
    ports.map((p) => reservePort(p)),
    [false, false, false, false, false],
    "taken while its owner lives",
  );
  const exited = new Promise((resolve) => held.proc.once("exit", resolve));
  held.proc.kill("SIGKILL");
  await exited;
  t.ok(
    ports.every((p) => owner(p) === held.proc.pid),
    "SIGKILL left the reservation files",
  );
  t.same(
    ports.map((p) => reservePort(p)),
    [true, true, true, true, true],
    "reclaimed once the owner is gone",
  );
  t.ok(
    ports.every((p) => owner(p) === process.pid),
    "now held by this process",
  );
});

t.test("waitFor returns the condition's value; on timeout it names what it waited for", async (t) => {
  let n = 0;
  t.equal(await waitFor(() => (++n >= 3 ? n : undefined), { what: "three checks" }), 3);
  let calls = 0;
  const v = await waitFor(
    () => {
      calls++;
      if (calls < 2) throw new Error("not yet");
      return "ok";
    },
    { what: "a check that throws first" },
  );
  t.equal(v, "ok", "a check that throws counts as not yet");
  await t.rejects(
    waitFor(
      () => {
        throw new Error("still 2 of 3");
      },
      { what: "the third member", timeoutMs: 50 },
    ),
    /timed out after 50 ms waiting for the third member: still 2 of 3/,
  );
  await t.rejects(
    waitFor(() => false, { what: "never", timeoutMs: 30 }),
    /waiting for never$/,
  );
  t.equal(await withDeadline(Promise.resolve(7), { what: "seven" }), 7);
  await t.rejects(
    withDeadline(new Promise(() => undefined), { what: "a promise that never settles", timeoutMs: 30 }),
    /timed out after 30 ms waiting for a promise that never settles/,
  );
});
