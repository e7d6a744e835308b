/**
 * End to end against `skiff store` (run from source): a 20-second run with every fault must be
 * valid; the same store with the test-only --unsafe-stale-reads switch (linearizable reads served
 * without ReadIndex) must be caught as invalid under partitions; SIGTERM mid-run must leave no
 * process or namespace behind.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { missingNetns } from "../src/netns.js";
import { namespacesOf, readResults, skipReason, startCli, validRunTest } from "./run-helper.js";

const storeEntry = fileURLToPath(import.meta.resolve("@skiff/store/run"));
const missing = existsSync(storeEntry) ? undefined : `${storeEntry} is missing`;

validRunTest("skiff", missing);

t.test(
  "a broken build (reads without ReadIndex) is caught under partitions",
  { skip: skipReason(missing ?? missingNetns()), timeout: 180_000 },
  async (t) => {
    // At least two partitions, however slow the machine.
    const run = startCli(t, [
      ...[
        "--target",
        "skiff",
        "--time",
        "15",
        "--nemesis",
        "partition",
        "--seed",
        "3",
        "--min-faults",
        "2",
        "--unsafe-stale-reads",
      ],
    ]);
    const code = await run.done;
    t.equal(run.stdout().trimEnd().split("\n").at(-1), "invalid", `last line is invalid\n${run.stdout()}`);
    t.equal(code, 1, "exit code 1");
    const r = readResults(run.out);
    t.equal(r.linearizable.valid, false, "the register history is not linearizable");
  },
);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test(
  "SIGTERM mid-run stops every member and removes the namespaces",
  { skip: skipReason(missing), timeout: 180_000 },
  async (t) => {
    const run = startCli(t, ["--target", "skiff", "--time", "60", "--nemesis", "kill", "--seed", "5"]);
    await waitFor(() => /^members: /m.test(run.stdout()), {
      what: "the members line",
      timeoutMs: 120_000,
      intervalMs: 100,
    }).catch(() => undefined); // the check below prints what the runner said
    const pids = [...(/^members: (.*)$/m.exec(run.stdout())?.[1] ?? "").matchAll(/pid (\d+)/g)].map((m) =>
      Number(m[1]),
    );
    t.equal(pids.length, 3, `three members started: ${run.stdout()}${run.stderr()}`);
    // Mid-run: the workload is running and the nemesis has killed and restarted a member.
    await waitFor(() => /^nemesis: /m.test(run.stdout()), {
      what: "the first fault to end",
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    run.child.kill("SIGTERM");
    const code = await run.done;
    t.equal(code, 130, "exit code 130");
    t.same(pids.filter(alive), [], "no member process left");
    t.same(namespacesOf(run.child.pid), [], "no namespace left");
  },
);
