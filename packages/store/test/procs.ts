/**
 * Runs durable Raft members as separate processes on loopback for the multi-process tests:
 * free ports, data directories under a temp folder, start/kill/restart by name, and small HTTP
 * client calls. Everything started is killed and removed by close().
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { freePort, waitFor as waitUntil } from "@skiff/testkit";

const memberMain = fileURLToPath(new URL("../src/member/main.ts", import.meta.url));

/** The flags that make a child node run TypeScript from source, as this test process does. */
export function childExecArgv(): string[] {
  return process.execArgv.filter(
    (a) => a.includes("@tapjs/typescript") || a.startsWith("--conditions") || a === "--enable-source-maps",
  );
}

export interface MemberProc {
  name: string;
  peerUrl: string;
  clientUrl: string;
  dataDir: string;
  child?: ChildProcess;
  stderr: string[];
}

export class ProcCluster {
  readonly dir = mkdtempSync(join(tmpdir(), "skiff-raftnode-"));
  readonly members = new Map<string, MemberProc>();

  constructor(
    private readonly extraFlags: string[] = [],
    readonly token = "test-cluster",
  ) {}

  async init(names: string[]): Promise<void> {
    for (const name of names) {
      const peerUrl = `http://127.0.0.1:${await freePort()}`;
      const clientUrl = `http://127.0.0.1:${await freePort()}`;
      this.members.set(name, { name, peerUrl, clientUrl, dataDir: join(this.dir, name), stderr: [] });
    }
  }

  initialCluster(): string {
    return [...this.members.values()].map((m) => `${m.name}=${m.peerUrl}`).join(",");
  }

  /** Starts a member and resolves when it prints its ready line. */
  async start(name: string, flags: string[] = []): Promise<void> {
    const m = this.get(name);
    const args = [
      ...childExecArgv(),
      memberMain,
      "--name",
      name,
      "--data-dir",
      m.dataDir,
      "--listen-peer-urls",
      m.peerUrl,
      "--listen-client-urls",
      m.clientUrl,
      "--initial-cluster",
      this.initialCluster(),
      "--initial-cluster-token",
      this.token,
      "--heartbeat-interval",
      "50",
      "--election-timeout",
      "500",
      "--log-level",
      "warn",
      ...this.extraFlags,
      ...flags,
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    m.child = child;
    m.stderr = [];
    createInterface({ input: child.stderr }).on("line", (l) => {
      m.stderr.push(l);
      if (m.stderr.length > 200) m.stderr.shift();
    });
    await new Promise<void>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout });
      rl.on("line", (line) => {
        if (line.includes('"event":"ready"')) resolve();
      });
      child.once("exit", (code) =>
        reject(new Error(`member ${name} exited with ${code}: ${m.stderr.slice(-5).join("\n")}`)),
      );
    });
  }

  /** Sends a signal and waits for the process to exit; returns its exit code (null after a signal kill). */
  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    const m = this.get(name);
    const child = m.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    m.child = undefined;
    return code;
  }

  get(name: string): MemberProc {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  running(): MemberProc[] {
    return [...this.members.values()].filter((m) => m.child !== undefined);
  }

  async status(name: string): Promise<MemberStatus | undefined> {
    try {
      const r = await fetch(`${this.get(name).clientUrl}/status`, { signal: AbortSignal.timeout(2000) });
      return (await r.json()) as MemberStatus;
    } catch {
      return undefined;
    }
  }

  /** Waits until every running member names the same leader, which is itself running. */
  async waitLeader(deadlineMs = 60_000): Promise<string> {
    return waitFor(
      async () => {
        const sts = await Promise.all(this.running().map((m) => this.status(m.name)));
        if (sts.some((s) => s === undefined)) return undefined;
        const leaders = new Set(sts.map((s) => s?.leader));
        if (leaders.size !== 1) return undefined;
        const leader = sts.find((s) => s?.isLeader);
        return leader?.name;
      },
      deadlineMs,
      "a leader that every running member agrees on",
    );
  }

  async put(
    name: string,
    key: string,
    value: string,
  ): Promise<{ status: number; body: { index?: number; error?: string } }> {
    const r = await fetch(`${this.get(name).clientUrl}/kv/${encodeURIComponent(key)}`, {
      method: "PUT",
      body: value,
      signal: AbortSignal.timeout(30_000),
    });
    return { status: r.status, body: (await r.json()) as { index?: number; error?: string } };
  }

  async getAll(name: string, serializable = false): Promise<Record<string, string>> {
    const r = await fetch(`${this.get(name).clientUrl}/kv${serializable ? "?serializable=true" : ""}`, {
      signal: AbortSignal.timeout(30_000),
    });
    if (r.status !== 200) throw new Error(`GET /kv on ${name}: ${r.status} ${await r.text()}`);
    return ((await r.json()) as { entries: Record<string, string> }).entries;
  }

  async metric(name: string, metric: string): Promise<number> {
    const r = await fetch(`${this.get(name).clientUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    const text = await r.text();
    const line = text.split("\n").find((l) => l.startsWith(`${metric} `) || l.startsWith(`${metric}{`));
    return line === undefined ? Number.NaN : Number(line.split(" ").pop());
  }

  async close(): Promise<void> {
    for (const m of this.members.values()) await this.kill(m.name, "SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface MemberStatus {
  name: string;
  id: number;
  leader: number;
  isLeader: boolean;
  term: number;
  commit: number;
  applied: number;
  voters: number[];
  learners: number[];
  failed: string | null;
}

/** Polls cond until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(
  cond: () => Promise<T | undefined>,
  deadlineMs: number,
  what: string,
): Promise<T> {
  return (await waitUntil(cond, { what, timeoutMs: deadlineMs, intervalMs: 50 })) as T;
}
