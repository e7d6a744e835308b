/**
 * A 3-member cluster of `skiff store` (compiled, or from source when the runner itself runs from
 * source under tap) or of real etcd, with the same etcd flags, on loopback. Members can be
 * SIGKILLed and restarted with the same data directory and flags. stop() kills every process this
 * module started (by PID) and removes the data directories.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeEtcdClients, etcdClients, freePort, unaryCall } from "@skiff/store";

export type Target = "skiff" | "etcd";

export const etcdBinary = "/usr/bin/etcd";
const fromSource = import.meta.url.endsWith(".ts");
const storeEntry = fileURLToPath(
  new URL(
    fromSource ? "../../packages/store/src/server/run.ts" : "../../packages/store/dist/server/run.js",
    import.meta.url,
  ),
);

/** The flags that make a child node run TypeScript from source, as this process does (under tap). */
function childExecArgv(): string[] {
  return process.execArgv.filter(
    (a) => a.includes("@tapjs/typescript") || a.startsWith("--conditions") || a === "--enable-source-maps",
  );
}

/** Why `target` cannot run here, or undefined when it can. */
export function missingTarget(target: Target): string | undefined {
  if (target === "etcd" && !existsSync(etcdBinary))
    return `${etcdBinary} is missing (apt-get install etcd-server)`;
  if (target === "skiff" && !existsSync(storeEntry)) return `${storeEntry} is missing (npx tsc -b)`;
  return undefined;
}

export interface Member {
  readonly name: string;
  /** host:port of the client URL, for gRPC. */
  readonly target: string;
  readonly flags: string[];
  child: ChildProcess | undefined;
  stderrTail: string;
}

export interface ClusterOptions {
  target: Target;
  nodes: number;
  unsafeNoFsync: boolean;
}

export class Cluster {
  readonly members: Member[] = [];
  private dir: string | undefined;

  private constructor(readonly options: ClusterOptions) {}

  static async create(options: ClusterOptions): Promise<Cluster> {
    const why = missingTarget(options.target);
    if (why !== undefined) throw new Error(why);
    const c = new Cluster(options);
    const dir = mkdtempSync(join(tmpdir(), `jepsen-lite-${options.target}-`));
    c.dir = dir;
    const names = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    const peers: string[] = [];
    const clients: string[] = [];
    for (const _ of names) {
      peers.push(`http://127.0.0.1:${await freePort()}`);
      clients.push(`http://127.0.0.1:${await freePort()}`);
    }
    const initialCluster = names.map((n, i) => `${n}=${peers[i]}`).join(",");
    names.forEach((name, i) => {
      const flags = [
        ["--name", name],
        ["--data-dir", join(dir, name)],
        ["--listen-peer-urls", peers[i]],
        ["--initial-advertise-peer-urls", peers[i]],
        ["--listen-client-urls", clients[i]],
        ["--advertise-client-urls", clients[i]],
        ["--initial-cluster", initialCluster],
        ["--initial-cluster-token", "jepsen-lite"],
        ["--initial-cluster-state", "new"],
        ["--heartbeat-interval", "100"],
        ["--election-timeout", "1000"],
        ["--log-level", options.target === "etcd" ? "error" : "warn"],
        options.unsafeNoFsync && options.target === "skiff" ? ["--unsafe-no-fsync"] : [],
      ].flat() as string[];
      c.members.push({
        name,
        target: new URL(clients[i] as string).host,
        flags,
        child: undefined,
        stderrTail: "",
      });
    });
    return c;
  }

  start(m: Member): void {
    if (m.child !== undefined) return;
    const child =
      this.options.target === "etcd"
        ? spawn(etcdBinary, m.flags, { stdio: ["ignore", "ignore", "pipe"] })
        : spawn(process.execPath, [...childExecArgv(), storeEntry, ...m.flags], {
            stdio: ["ignore", "ignore", "pipe"],
          });
    child.stderr?.on("data", (d: Buffer) => {
      m.stderrTail = `${m.stderrTail}${d.toString()}`.slice(-2000);
    });
    m.child = child;
  }

  startAll(): void {
    for (const m of this.members) this.start(m);
  }

  /** SIGKILLs a member's process (by its PID) and waits for it to exit. */
  async kill(m: Member): Promise<void> {
    const child = m.child;
    m.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  /** Waits until every member runs and reports a leader over gRPC. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const m of this.members) {
      const clients = etcdClients(m.target);
      try {
        for (;;) {
          const child = m.child;
          if (child === undefined || child.exitCode !== null || child.signalCode !== null)
            throw new Error(`member ${m.name} is not running: ${m.stderrTail}`);
          const status = await unaryCall<{ leader: string }>(clients.Maintenance, "Status", {}, 1000).catch(
            () => undefined,
          );
          if (status !== undefined && status.leader !== "0") break;
          if (Date.now() > deadline) throw new Error(`member ${m.name} has no leader after ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        closeEtcdClients(clients);
      }
    }
  }

  /** Kills every running member and removes the data directories. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m)));
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** Synchronous last-resort cleanup (process exit): SIGKILL by PID, remove the directory. */
  stopSync(): void {
    for (const m of this.members) {
      if (m.child?.exitCode === null && m.child.signalCode === null) m.child.kill("SIGKILL");
    }
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
