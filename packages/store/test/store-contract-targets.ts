/**
 * The two targets of the etcd v3 contract suites: a fresh real etcd 3.4 (one member) and a fresh
 * 3-member `skiff store`, each started empty and removed with everything it wrote.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeEtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";
import { freePort, waitFor } from "@skiff/testkit";
import type { ContractTarget, TranscriptEntry } from "./store-contract.js";
import { type ContractCase, runContract } from "./store-contract.js";
import { StoreCluster } from "./storeprocs.js";

export const etcdBin = "/usr/bin/etcd";

/** Waits until a linearizable read succeeds: the target has a leader and serves the KV API. */
async function waitServing(endpoint: string, timeoutMs = 60_000): Promise<void> {
  const clients = etcdClients(endpoint);
  try {
    await waitFor(
      () => unaryCall(clients.KV, "Range", { key: Buffer.from("/ready") }, 2000).then(() => true),
      {
        what: `${endpoint} to serve`,
        timeoutMs,
        intervalMs: 100,
      },
    );
  } finally {
    closeEtcdClients(clients);
  }
}

export class EtcdTarget implements ContractTarget {
  readonly name = "etcd 3.4";
  private readonly dir = mkdtempSync(join(tmpdir(), "skiff-contract-etcd-"));
  private child?: ChildProcess;
  private clientPort = 0;
  private log = "";

  /** flags: given to etcd as they are; skiff store takes the same. */
  constructor(private readonly flags: readonly string[] = []) {}

  async start(): Promise<void> {
    this.clientPort = await freePort();
    const clientUrl = `http://127.0.0.1:${this.clientPort}`;
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    this.child = spawn(
      etcdBin,
      [
        "--name=contract",
        `--data-dir=${this.dir}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=contract=${peerUrl}`,
        ...this.flags,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.child.stderr?.on("data", (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-4000);
    });
    await waitServing(this.endpoint()).catch((e) => {
      throw new Error(`${String(e)}\n${this.log}`);
    });
  }

  endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      process.kill(c.pid, "SIGKILL");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class SkiffTarget implements ContractTarget {
  readonly name = "skiff store (3 members)";
  private readonly cluster: StoreCluster;

  constructor(flags: readonly string[] = []) {
    this.cluster = new StoreCluster([...flags]);
  }

  async start(): Promise<void> {
    await this.cluster.start();
    await waitServing(this.endpoint());
  }

  endpoint(): string {
    return this.cluster.endpoints().split(",")[0] ?? "";
  }

  stop(): Promise<void> {
    return this.cluster.close();
  }
}

/** One line per differing step: the step name and both normalized responses. */
export function readableDiff(want: TranscriptEntry[], got: TranscriptEntry[]): string {
  const lines: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const w = JSON.stringify(want[i]);
    const g = JSON.stringify(got[i]);
    if (w === g) continue;
    lines.push(`step ${i} ${want[i]?.step ?? got[i]?.step}:`, `  etcd:  ${w}`, `  skiff: ${g}`);
  }
  return lines.join("\n");
}

export async function transcriptOf(
  target: ContractTarget,
  cases?: readonly ContractCase[],
): Promise<Map<string, TranscriptEntry[]>> {
  try {
    await target.start();
    return await runContract(target, cases);
  } finally {
    await target.stop();
  }
}
