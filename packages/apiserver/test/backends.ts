/**
 * The two stores the API server's tests run against: an embedded `skiff store` member (started in
 * this process) and real etcd (/usr/bin/etcd, the reference). Each gives etcd v3 endpoints and a
 * stop() that removes everything it made.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStore } from "@skiff/store";
import { freePort, waitFor } from "@skiff/testkit";
import { type EtcdKV, GrpcEtcd } from "../src/storage/etcd.js";
import { InProcessEtcd } from "../src/storage/inprocess.js";

export const etcdBinary = "/usr/bin/etcd";

export interface Backend {
  name: string;
  endpoints: string[];
  /** A direct (in-process) store client, when there is one; otherwise gRPC to `endpoints`. */
  kv?: () => EtcdKV;
  stop(): Promise<void>;
}

/** A `skiff store` member in this process, reached over gRPC on loopback or called in process. */
export async function skiffBackend(inProcess = false): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "apiserver-skiff-"));
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const store = await startStore([
    ...[
      "--name",
      "s",
      "--data-dir",
      join(dir, "s"),
      "--listen-client-urls",
      client,
      "--advertise-client-urls",
      client,
    ],
    ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `s=${peer}`],
    ...["--heartbeat-interval", "50", "--election-timeout", "250", "--log-level", "error"],
  ]);
  await waitLeader([new URL(client).host]);
  return {
    name: "skiff store",
    endpoints: [new URL(client).host],
    kv: inProcess ? () => new InProcessEtcd(store.etcd) : undefined,
    async stop() {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function etcdBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "apiserver-etcd-"));
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const child: ChildProcess = spawn(
    etcdBinary,
    [
      ...[
        "--name",
        "e",
        "--data-dir",
        join(dir, "e"),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
      ],
      ...[
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        `e=${peer}`,
      ],
      ...["--log-level", "error"],
    ],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  await waitLeader([new URL(client).host]);
  return {
    name: "etcd",
    endpoints: [new URL(client).host],
    async stop() {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitLeader(endpoints: string[]): Promise<void> {
  const kv = new GrpcEtcd(endpoints, 1000);
  try {
    await waitFor(() => kv.range("/ready-probe").then(() => true), {
      what: `a leader at ${endpoints.join(",")}`,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
  } finally {
    kv.close();
  }
}

/** Backends available here, with the reason a missing one is skipped (a failure in CI). */
export function backends(): { name: string; start: () => Promise<Backend>; missing?: string }[] {
  return [
    { name: "skiff store (embedded, in process)", start: () => skiffBackend(true) },
    { name: "skiff store", start: () => skiffBackend(false) },
    {
      name: "etcd",
      start: etcdBackend,
      missing: existsSync(etcdBinary) ? undefined : `${etcdBinary} is missing (apt-get install etcd-server)`,
    },
  ];
}
