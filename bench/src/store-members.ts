/**
 * Members of `skiff store` or of etcd 3.4 that a benchmark starts, kills with SIGKILL and starts
 * again on the same data directory, for the store benchmark's large phase (restart to serving).
 * They run from their command lines only (the same etcd flags for both), and are watched only
 * through the etcd v3 gRPC API and /proc. Every process is tracked by PID and every data
 * directory is removed by cleanup(), which also runs when this process exits or is interrupted,
 * so a failed or interrupted run leaves nothing behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { freePort } from "@skiff/testkit";
import { closeChannel, type EtcdChannel, openChannel, unary } from "./store-grpc.js";
import { etcdBinary, missing, type StoreSystem, skiffBin } from "./store-procs.js";

/** Children still running and directories still present, for the exit handler. */
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHooked = false;

/** On exit (or Ctrl-C / SIGTERM, which then exit) kill every member left, by PID, and remove its data. */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const c of liveChildren) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
}

export interface StoreMember {
  readonly name: string;
  /** host:port of its client URL, for gRPC. */
  readonly target: string;
  /** The running process's PID (undefined before the first start and after a kill). */
  readonly pid: number | undefined;
  /** Starts the member on its data directory (new, or the one a kill left) with these extra flags. */
  start(extraFlags?: readonly string[]): number;
  /** SIGKILL (as `kill -9`), resolving once the process is gone. */
  kill(): Promise<void>;
  /** The tail of its standard error, for the message when it dies. */
  stderrTail(): string;
}

export interface StoreMembers {
  readonly system: StoreSystem;
  readonly members: StoreMember[];
  /** Kills every member still running and removes the data directories. */
  cleanup(): Promise<void>;
}

/** `count` members of `system` on loopback, not started yet: ports and a data directory each. */
export async function createStoreMembers(system: StoreSystem, count: number): Promise<StoreMembers> {
  const why = missing(system);
  if (why !== undefined) throw new Error(`bench: ${why}`);
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), `skiff-bench-large-${system}-`));
  liveDirs.add(dir);
  const names = Array.from({ length: count }, (_, i) => `m${i + 1}`);
  const peers: string[] = [];
  const clients: string[] = [];
  for (const _ of names) {
    peers.push(`http://127.0.0.1:${await freePort()}`);
    clients.push(`http://127.0.0.1:${await freePort()}`);
  }
  const initialCluster = names.map((n, i) => `${n}=${peers[i]}`).join(",");
  const members = names.map((name, i): StoreMember & { child?: ChildProcess } => {
    const base = [
      ["--name", name],
      ["--data-dir", join(dir, name)],
      ["--listen-peer-urls", peers[i]],
      ["--initial-advertise-peer-urls", peers[i]],
      ["--listen-client-urls", clients[i]],
      ["--advertise-client-urls", clients[i]],
      ["--initial-cluster", initialCluster],
      ["--initial-cluster-token", `bench-large-${system}`],
      // On a restart both ignore it: the data directory already names the cluster.
      ["--initial-cluster-state", "new"],
      ["--heartbeat-interval", "100"],
      ["--election-timeout", "1000"],
      ["--log-level", system === "etcd" ? "error" : "warn"],
    ].flat() as string[];
    let stderr = "";
    const member: StoreMember & { child?: ChildProcess } = {
      name,
      stderrTail: () => stderr,
      target: new URL(clients[i] as string).host,
      get pid() {
        const c = member.child;
        return c === undefined || c.exitCode !== null || c.signalCode !== null ? undefined : c.pid;
      },
      start(extraFlags = []) {
        if (member.pid !== undefined) throw new Error(`bench: ${system} ${name} is already running`);
        const flags = [...base, ...extraFlags];
        const child =
          system === "etcd"
            ? spawn(etcdBinary, flags, { stdio: ["ignore", "ignore", "pipe"] })
            : spawn(skiffBin, ["store", ...flags], {
                stdio: ["ignore", "ignore", "pipe"],
                // The same node as this process (skiff's first line gives node's flags).
                env: {
                  ...process.env,
                  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
                },
              });
        child.stderr?.on("data", (d: Buffer) => {
          stderr = `${stderr}${d.toString()}`.slice(-2000);
        });
        liveChildren.add(child);
        child.once("exit", () => liveChildren.delete(child));
        member.child = child;
        return child.pid as number;
      },
      kill() {
        const c = member.child;
        return new Promise<void>((resolve) => {
          if (c === undefined || c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGKILL");
        });
      },
    };
    return member;
  });
  return {
    system,
    members,
    async cleanup() {
      await Promise.all(members.map((m) => m.kill()));
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `target` with a linearizable Range (through the Raft read index: the member has a leader
 * and has applied what it committed) until one succeeds; resolves with the time that took, from
 * `since`. A fresh channel per attempt: grpc-js backs off a refused connection for a second or
 * more, which would hide when the member started serving. Throws past `timeoutMs` or when
 * `alive()` turns false (the member died).
 */
export async function waitServing(
  target: string,
  opts: { since: number; timeoutMs: number; alive: () => boolean; what: string },
): Promise<number> {
  const deadline = opts.since + opts.timeoutMs;
  for (;;) {
    if (!opts.alive()) throw new Error(`bench: ${opts.what} exited before serving`);
    const ch = await openChannel(target);
    try {
      const left = Math.max(1, Math.min(2000, deadline - performance.now()));
      await unary(ch.KV, "Range", { key: Buffer.from("large-probe"), serializable: false }, left);
      return performance.now() - opts.since;
    } catch {
      if (performance.now() > deadline)
        throw new Error(`bench: ${opts.what} not serving within ${opts.timeoutMs / 1000} s`);
      await sleep(20);
    } finally {
      closeChannel(ch);
    }
  }
}

interface StatusResponse {
  leader: string;
  raftTerm: string;
  raftIndex: string;
}

/** Maintenance.Status of one member (etcd's `etcdctl endpoint status`): leader, Raft term and index. */
export async function memberStatus(
  target: string,
  timeoutMs = 5000,
): Promise<{ leader: string; term: number; index: number }> {
  const ch: EtcdChannel = await openChannel(target);
  try {
    const s = await unary<StatusResponse>(ch.Maintenance, "Status", {}, timeoutMs);
    return { leader: s.leader, term: Number(s.raftTerm), index: Number(s.raftIndex) };
  } finally {
    closeChannel(ch);
  }
}

/** Waits until every member answers Status with a leader (a new cluster is up). */
export async function waitLeader(members: readonly StoreMember[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (const m of members) {
    for (;;) {
      if (m.pid === undefined)
        throw new Error(`bench: member ${m.name} exited during start-up: ${m.stderrTail()}`);
      const s = await memberStatus(m.target, 1000).catch(() => undefined);
      if (s !== undefined && s.leader !== "0") break;
      if (performance.now() > deadline)
        throw new Error(`bench: member ${m.name} has no leader in ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }
}
