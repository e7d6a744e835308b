/**
 * 3-member `skiff store` clusters as separate processes on loopback, for end-to-end tests with
 * etcdctl. Everything started is killed and removed by close().
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "@skiff/testkit";
import { childExecArgv } from "./procs.js";

const runMain = fileURLToPath(new URL("../src/server/run.ts", import.meta.url));
export const etcdctlPath = "/usr/bin/etcdctl";
export const haveEtcdctl = existsSync(etcdctlPath);

export interface StoreMember {
  name: string;
  peerUrl: string;
  clientUrl: string;
  child?: ChildProcess;
  stderr: string[];
}

export class StoreCluster {
  readonly dir = mkdtempSync(join(tmpdir(), "skiff-store-"));
  readonly members: StoreMember[] = [];

  constructor(private readonly extraFlags: string[] = []) {}

  async start(names = ["a", "b", "c"]): Promise<void> {
    await this.init(names);
    await Promise.all(this.members.map((m) => this.startMember(m)));
  }

  /** Allocates ports for members without starting them. */
  async init(names: string[]): Promise<StoreMember[]> {
    const added: StoreMember[] = [];
    for (const name of names) {
      const m = {
        name,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        clientUrl: `http://127.0.0.1:${await freePort()}`,
        stderr: [],
      };
      this.members.push(m);
      added.push(m);
    }
    return added;
  }

  dataDir(m: StoreMember): string {
    return join(this.dir, m.name);
  }

  initialCluster(): string {
    return this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
  }

  async startMember(m: StoreMember, flags: string[] = []): Promise<void> {
    const initialCluster = this.initialCluster();
    const args = [
      ...childExecArgv(),
      runMain,
      "--name",
      m.name,
      "--data-dir",
      this.dataDir(m),
      "--listen-peer-urls",
      m.peerUrl,
      "--initial-advertise-peer-urls",
      m.peerUrl,
      "--listen-client-urls",
      m.clientUrl,
      "--advertise-client-urls",
      m.clientUrl,
      "--initial-cluster",
      initialCluster,
      "--initial-cluster-token",
      "e2e",
      "--log-level",
      "warn",
      ...this.extraFlags,
      ...flags,
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    m.child = child;
    createInterface({ input: child.stderr }).on("line", (l) => {
      m.stderr.push(l);
      if (m.stderr.length > 100) m.stderr.shift();
    });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (l) => {
        if (l.includes('"event":"ready"')) resolve();
      });
      child.once("exit", (code) =>
        reject(new Error(`skiff store ${m.name} exited with ${code}: ${m.stderr.slice(-5).join("\n")}`)),
      );
    });
  }

  /** host:port endpoints of the running members, as etcdctl takes them. */
  endpoints(): string {
    return this.members
      .filter((m) => m.child !== undefined && m.child.exitCode === null)
      .map((m) => new URL(m.clientUrl).host)
      .join(",");
  }

  async stopMember(m: StoreMember, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const c = m.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill(signal);
    });
    m.child = undefined;
  }

  async etcdctl(
    args: string[],
    opts: { input?: string; timeoutMs?: number; endpoints?: string } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(
        etcdctlPath,
        [
          `--endpoints=${opts.endpoints ?? this.endpoints()}`,
          // Deadlines only for a hung cluster, far above a loaded machine's answer time.
          "--dial-timeout=15s",
          "--command-timeout=30s",
          ...args,
        ],
        { env: { ...process.env, ETCDCTL_API: "3" }, timeout: opts.timeoutMs ?? 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.members.map(
        (m) =>
          new Promise<void>((resolve) => {
            const c = m.child;
            if (c === undefined || c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGKILL");
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const run = promisify(execFile);
