/**
 * The stores the API server's tests run against: the embedded store (as `skiff server` embeds it),
 * a `skiff store` member over gRPC, and real etcd (/usr/bin/etcd, the reference). Each gives a
 * client (in process, or etcd v3 endpoints) and a stop() that removes everything it made.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseStoreFlags, Store } from "@skiff/store";
import { freePort, waitFor, withDeadline } from "@skiff/testkit";
import { embeddedStore } from "../src/storage/embedded.js";
import { type EtcdKV, GrpcEtcd } from "../src/storage/etcd.js";

export const etcdBinary = "/usr/bin/etcd";

export interface Backend {
  name: string;
  endpoints: string[];
  /** A direct (in-process) store client, when there is one; otherwise gRPC to `endpoints`. */
  kv?: () => EtcdKV;
  stop(): Promise<void>;
}

/** The store exactly as `skiff server` embeds it (src/storage/embedded.ts): called in process. */
export async function embeddedBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "apiserver-embedded-"));
  const { store, kv } = embeddedStore({ dataDir: join(dir, "s"), logLevel: "error" });
  try {
    await store.start();
    await withDeadline(store.ready, { what: "the embedded store's leader", timeoutMs: 60_000 });
  } catch (e) {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    name: "skiff store (embedded)",
    endpoints: [],
    kv,
    async stop() {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `skiff store` member in this process, reached over gRPC on loopback. */
export async function skiffBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), "apiserver-skiff-"));
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const store = new Store(
    parseStoreFlags([
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
      ...[
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        `s=${peer}`,
      ],
      ...["--heartbeat-interval", "50", "--election-timeout", "250", "--log-level", "error"],
    ]),
  );
  await store.start();
  await waitLeader([new URL(client).host]);
  return {
    name: "skiff store",
    endpoints: [new URL(client).host],
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
    { name: "skiff store (embedded, in process)", start: embeddedBackend },
    { name: "skiff store", start: skiffBackend },
    {
      name: "etcd",
      start: etcdBackend,
      missing: existsSync(etcdBinary) ? undefined : `${etcdBinary} is missing (apt-get install etcd-server)`,
    },
  ];
}
