/**
 * Starts 3-member clusters of Skiff's durable Raft member or of real etcd, with the same flags,
 * data directories on the same disk, on loopback, for side-by-side benchmarks. Every process is
 * killed and every directory removed by stop().
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@skiff/testkit";

export type SystemName = "skiff" | "etcd";

/** The store's test member (durable RaftNode + key-value machine behind HTTP), as a process. */
const memberMain = fileURLToPath(import.meta.resolve("@skiff/store/member"));
/** Under tap the export resolves to the source: the child then needs tap's TypeScript loader. */
const memberExecArgv = memberMain.endsWith(".ts")
  ? process.execArgv.filter(
      (a) => a.includes("@tapjs/typescript") || a.startsWith("--conditions") || a === "--enable-source-maps",
    )
  : [];
export const etcdBinary = "/usr/bin/etcd";

export interface RunningCluster {
  readonly system: SystemName;
  readonly clientUrls: string[];
  readonly pids: number[];
  stop(): Promise<void>;
}

export async function startCluster(
  system: SystemName,
  opts: { heartbeatMs?: number; electionMs?: number } = {},
): Promise<RunningCluster> {
  if (system === "etcd" && !existsSync(etcdBinary))
    throw new Error(`bench: ${etcdBinary} is missing (apt-get install etcd-server)`);
  if (system === "skiff" && !existsSync(memberMain))
    throw new Error("bench: packages/store is not built (pnpm build)");
  const dir = mkdtempSync(join(tmpdir(), `skiff-bench-${system}-`));
  const names = ["m1", "m2", "m3"];
  const peers = await Promise.all(names.map(async () => `http://127.0.0.1:${await freePort()}`));
  const clients = await Promise.all(names.map(async () => `http://127.0.0.1:${await freePort()}`));
  const initialCluster = names.map((n, i) => `${n}=${peers[i]}`).join(",");
  const children: ChildProcess[] = [];
  const common = (i: number) => [
    "--name",
    names[i] as string,
    "--data-dir",
    join(dir, names[i] as string),
    "--listen-peer-urls",
    peers[i] as string,
    "--listen-client-urls",
    clients[i] as string,
    "--initial-cluster",
    initialCluster,
    "--initial-cluster-token",
    `bench-${system}`,
    "--initial-cluster-state",
    "new",
    "--heartbeat-interval",
    String(opts.heartbeatMs ?? 100),
    "--election-timeout",
    String(opts.electionMs ?? 1000),
    "--log-level",
    system === "etcd" ? "error" : "warn",
  ];
  for (let i = 0; i < names.length; i++) {
    const args =
      system === "etcd"
        ? [
            ...common(i),
            "--initial-advertise-peer-urls",
            peers[i] as string,
            "--advertise-client-urls",
            clients[i] as string,
          ]
        : // A snapshot every 10,000 entries: the raft-node figures in docs/benchmarks.md were measured so.
          [...memberExecArgv, memberMain, ...common(i), "--snapshot-count", "10000"];
    const child = spawn(system === "etcd" ? etcdBinary : process.execPath, args, {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr?.resume();
    children.push(child);
  }
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Healthy = every member answers /health with a leader (both systems serve it).
    const deadline = Date.now() + 20_000;
    for (const url of clients) {
      for (;;) {
        const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
          .then(async (r) => r.status === 200 && ((await r.json()) as { health: string }).health === "true")
          .catch(() => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`bench: ${system} member ${url} not healthy in 20 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { system, clientUrls: clients, pids: children.map((c) => c.pid as number), stop };
}
