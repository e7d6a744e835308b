/**
 * A cluster of 3 or 5 `skiff store` members (compiled, or from source when the runner itself runs
 * from source under tap) or real etcd members, with the same etcd flags. Two network modes:
 * - `netns` (default as root): one network namespace per member behind a bridge (netns.ts), so
 *   partitions are real packet loss made by nftables;
 * - `loopback`: every member on 127.0.0.1 (no partitions).
 * Members can be SIGKILLed and restarted with the same data directory and flags, paused with
 * SIGSTOP/SIGCONT, and replaced (removed from the cluster, then added back as a fresh member with a
 * new name, peer URL and empty data directory). stop() kills every process this module started
 * (by PID), deletes the namespaces and removes the data directories.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeEtcdClients, type EtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";
import { freePort } from "@skiff/testkit";
import { childExecArgv, killAndWait, Netns } from "./netns.js";

export type Target = "skiff" | "etcd";
export type NetMode = "netns" | "loopback";

export const etcdBinary = "/usr/bin/etcd";
/**
 * `skiff store` as a process: the compiled member, or its source under tap (the @skiff/source
 * condition), which the child then runs with tap's TypeScript loader (childExecArgv).
 */
const storeEntry = fileURLToPath(import.meta.resolve("@skiff/store/run"));

/** Why `target` cannot run here, or undefined when it can. */
export function missingTarget(target: Target): string | undefined {
  if (target === "etcd" && !existsSync(etcdBinary))
    return `${etcdBinary} is missing (apt-get install etcd-server)`;
  if (target === "skiff" && !existsSync(storeEntry)) return `${storeEntry} is missing (npx tsc -b)`;
  return undefined;
}

export interface Member {
  /** The slot: n1..nN. A replaced member keeps its slot (namespace, client address). */
  readonly slot: number;
  /** The current member name: `n2`, then `n2g1` after one replacement, ... */
  name: string;
  generation: number;
  peerUrl: string;
  readonly clientUrl: string;
  /** host:port (loopback) where this process reaches the member's client port, for gRPC. */
  readonly target: string;
  dataDir: string;
  flags: string[];
  child: ChildProcess | undefined;
  paused: boolean;
  stderrTail: string;
}

export interface ClusterOptions {
  target: Target;
  nodes: number;
  net: NetMode;
  unsafeNoFsync: boolean;
  unsafeStaleReads: boolean;
}

const CLIENT_PORT = 2379;
const PEER_PORT = 2380;

export class Cluster {
  readonly members: Member[] = [];
  private dir: string | undefined;
  private netns: Netns | undefined;

  private constructor(readonly options: ClusterOptions) {}

  static async create(options: ClusterOptions): Promise<Cluster> {
    const why = missingTarget(options.target);
    if (why !== undefined) throw new Error(why);
    const c = new Cluster(options);
    const dir = mkdtempSync(join(tmpdir(), `jepsen-lite-${options.target}-`));
    c.dir = dir;
    try {
      if (options.net === "netns") c.netns = await Netns.create(options.nodes, dir, CLIENT_PORT);
      for (let i = 0; i < options.nodes; i++) {
        const ip = c.netns?.members[i]?.ip;
        const clientUrl =
          ip !== undefined ? `http://${ip}:${CLIENT_PORT}` : `http://127.0.0.1:${await freePort()}`;
        const peerUrl =
          ip !== undefined ? `http://${ip}:${PEER_PORT}` : `http://127.0.0.1:${await freePort()}`;
        const name = `n${i + 1}`;
        c.members.push({
          slot: i,
          name,
          generation: 0,
          peerUrl,
          clientUrl,
          target: c.netns?.members[i]?.target ?? new URL(clientUrl).host,
          dataDir: join(dir, name),
          flags: [],
          child: undefined,
          paused: false,
          stderrTail: "",
        });
      }
    } catch (e) {
      await c.stop();
      throw e;
    }
    const initialCluster = c.members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    for (const m of c.members) m.flags = c.flagsFor(m, initialCluster, "new");
    return c;
  }

  private flagsFor(m: Member, initialCluster: string, state: "new" | "existing"): string[] {
    const o = this.options;
    return [
      ["--name", m.name],
      ["--data-dir", m.dataDir],
      ["--listen-peer-urls", m.peerUrl],
      ["--initial-advertise-peer-urls", m.peerUrl],
      ["--listen-client-urls", m.clientUrl],
      ["--advertise-client-urls", m.clientUrl],
      ["--initial-cluster", initialCluster],
      ["--initial-cluster-token", "jepsen-lite"],
      ["--initial-cluster-state", state],
      ["--heartbeat-interval", "100"],
      ["--election-timeout", "1000"],
      ["--log-level", o.target === "etcd" ? "error" : "warn"],
      o.unsafeNoFsync && o.target === "skiff" ? ["--unsafe-no-fsync"] : [],
      o.unsafeStaleReads && o.target === "skiff" ? ["--unsafe-stale-reads"] : [],
    ].flat() as string[];
  }

  /** The network, when members run in namespaces (partitions are possible). */
  get network(): Netns | undefined {
    return this.netns;
  }

  running(m: Member): boolean {
    return m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null;
  }

  start(m: Member): void {
    if (m.child !== undefined) return;
    const prefix = this.netns?.exec(m.slot) ?? [];
    const program =
      this.options.target === "etcd"
        ? [etcdBinary, ...m.flags]
        : [process.execPath, ...childExecArgv(), storeEntry, ...m.flags];
    const [cmd, ...args] = [...prefix, ...program] as [string, ...string[]];
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (d: Buffer) => {
      m.stderrTail = `${m.stderrTail}${d.toString()}`.slice(-2000);
    });
    m.child = child;
    m.paused = false;
  }

  startAll(): void {
    for (const m of this.members) this.start(m);
  }

  /** SIGKILLs a member's process (by its PID) and waits for it to exit. */
  async kill(m: Member): Promise<void> {
    const child = m.child;
    m.child = undefined;
    m.paused = false;
    if (child !== undefined) await killAndWait(child);
  }

  pause(m: Member): void {
    if (this.running(m) && !m.paused) {
      m.child?.kill("SIGSTOP");
      m.paused = true;
    }
  }

  resume(m: Member): void {
    if (m.paused) m.child?.kill("SIGCONT");
    m.paused = false;
  }

  /** Every member started and resumed, the network healed. */
  heal(): void {
    this.netns?.setCuts([]);
    for (const m of this.members) {
      this.resume(m);
      if (!this.running(m)) {
        m.child = undefined;
        this.start(m);
      }
    }
  }

  /** The member every reachable member names as leader, if there is one. */
  async leader(): Promise<Member | undefined> {
    const byId = new Map<string, Member>();
    const votes = new Map<string, number>();
    await Promise.all(
      this.members
        .filter((m) => this.running(m) && !m.paused)
        .map(async (m) => {
          const s = await this.call<{ header: { member_id: string }; leader: string }>(
            m,
            "Maintenance",
            "Status",
            {},
          );
          if (s === undefined) return;
          byId.set(s.header.member_id, m);
          if (s.leader !== "0") votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
        }),
    );
    const [top] = [...votes.entries()].sort((a, b) => b[1] - a[1]);
    return top === undefined ? undefined : byId.get(top[0]);
  }

  /** One unary call to a member, undefined on any error. */
  async call<R>(m: Member, service: keyof EtcdClients, method: string, req: object, timeoutMs = 1000) {
    const clients = etcdClients(m.target);
    try {
      return await unaryCall<R>(clients[service], method, req, timeoutMs);
    } catch {
      return undefined;
    } finally {
      closeEtcdClients(clients);
    }
  }

  /**
   * Membership change: removes `m` through another member, kills it, wipes its data, then adds a
   * fresh member in the same slot (new name and peer URL, hence a new member id) and starts it with
   * --initial-cluster-state existing. Returns what happened, or throws if the removal never
   * succeeded (the cluster is then unchanged).
   */
  async replace(m: Member, deadline: number): Promise<string> {
    const others = () => this.members.filter((o) => o !== m && this.running(o) && !o.paused);
    type List = { members: { ID: string; name: string; peerURLs: string[] }[] };
    const memberList = () => this.callAny<List>(others(), "MemberList", {});
    const list = await this.retry(deadline, memberList);
    const old = list.members.find((x) => x.peerURLs.includes(m.peerUrl));
    if (old === undefined) throw new Error(`${m.name} is not in the member list`);
    // A request that timed out may still have been applied: the member list says.
    await this.retry(deadline, async () => {
      if ((await this.callAny(others(), "MemberRemove", { ID: old.ID })) !== undefined) return true;
      const now = await memberList();
      return now !== undefined && !now.members.some((x) => x.ID === old.ID) ? true : undefined;
    });
    await this.kill(m);
    rmSync(m.dataDir, { recursive: true, force: true });
    m.generation++;
    m.name = `n${m.slot + 1}g${m.generation}`;
    m.dataDir = join(this.dir as string, m.name);
    m.peerUrl = this.netns
      ? `http://${this.netns.members[m.slot]?.ip}:${PEER_PORT + m.generation}`
      : `http://127.0.0.1:${await freePort()}`;
    const added = await this.retry(deadline, async () => {
      const r = await this.callAny<List>(others(), "MemberAdd", { peerURLs: [m.peerUrl] });
      if (r !== undefined) return r;
      const now = await memberList();
      return now?.members.some((x) => x.peerURLs.includes(m.peerUrl)) ? now : undefined;
    });
    const names = new Map(this.members.map((x) => [x.peerUrl, x.name]));
    const initialCluster = added.members
      .map((x) => `${x.name || names.get(x.peerURLs[0] ?? "")}=${x.peerURLs[0]}`)
      .join(",");
    m.flags = this.flagsFor(m, initialCluster, "existing");
    this.start(m);
    return `removed ${old.name} (${old.ID}), added ${m.name} at ${m.peerUrl}`;
  }

  private async callAny<R>(members: Member[], method: string, req: object): Promise<R | undefined> {
    for (const o of members) {
      const r = await this.call<R>(o, "Cluster", method, req, 2000);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  private async retry<R>(deadline: number, f: () => Promise<R | undefined>): Promise<R> {
    for (;;) {
      const r = await f();
      if (r !== undefined) return r;
      if (Date.now() > deadline) throw new Error("membership change timed out");
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /** Waits until every member runs and reports a leader over gRPC. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const m of this.members) {
      for (;;) {
        if (!this.running(m)) throw new Error(`member ${m.name} is not running: ${m.stderrTail}`);
        const status = await this.call<{ leader: string }>(m, "Maintenance", "Status", {});
        if (status !== undefined && status.leader !== "0") break;
        if (Date.now() > deadline) throw new Error(`member ${m.name} has no leader after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Kills every running member, deletes the namespaces, removes the data. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m)));
    await this.netns?.destroy();
    this.netns = undefined;
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** Synchronous last-resort cleanup (process exit): SIGKILL by PID, namespaces, directory. */
  stopSync(): void {
    for (const m of this.members) if (this.running(m)) m.child?.kill("SIGKILL");
    this.netns?.destroySync();
    this.netns = undefined;
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
