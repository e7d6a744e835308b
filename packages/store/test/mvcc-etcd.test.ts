import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@skiff/testkit";
import t from "tap";
import { MvccStore } from "../src/mvcc/index.js";
import { etcdSteps, ours, type Step, theirs } from "./mvcc-etcd-steps.js";

/*
 * Runs one fixed sequence against a real etcd 3.4 (its HTTP/JSON gateway) and against MvccStore,
 * and compares every response: revisions, KeyValues, count/more, deleted, succeeded, errors.
 */
const ETCD = "/usr/bin/etcd";

async function waitHealthy(url: string, proc: ChildProcess, deadlineMs: number): Promise<void> {
  let exited = false;
  await waitFor(
    async () => {
      if (proc.exitCode !== null) exited = true;
      if (exited) return true; // reported below, at once
      const r = await fetch(`${url}/health`); // throws while etcd is not listening yet
      return r.ok && ((await r.json()) as { health?: string }).health === "true";
    },
    { what: "etcd to be healthy", timeoutMs: deadlineMs, intervalMs: 50 },
  );
  if (exited) throw new Error(`etcd exited with ${proc.exitCode}`);
}

if (!existsSync(ETCD)) {
  t.comment(`skipped: ${ETCD} is not installed (Debian package etcd-server)`);
  t.pass("etcd comparison skipped");
} else {
  t.test("revisions and responses match etcd 3.4", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-mvcc-etcd-"));
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const proc = spawn(
      ETCD,
      [
        "--name=m",
        `--data-dir=${join(dir, "data")}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=m=http://127.0.0.1:${peer}`,
        "--log-level=error",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    proc.stderr?.on("data", (d) => {
      stderr += d;
    });
    t.teardown(async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });
    try {
      await waitHealthy(url, proc, 60_000);
    } catch (e) {
      t.fail(`${(e as Error).message}\n${stderr}`);
      return;
    }
    const store = new MvccStore();
    for (const step of etcdSteps as Step[]) {
      const want = await theirs(url, step);
      const got = ours(store, step);
      if (process.env.MVCC_ETCD_DEBUG) t.comment(`${step.name}: ${JSON.stringify(want)}`);
      t.same(got, want, step.name);
    }
  });
}
