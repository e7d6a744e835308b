/**
 * Real network faults: every member runs in its own network namespace, attached by a veth pair to
 * a bridge that lives in one more namespace (the "switch"). Nothing is added to the host's own
 * namespace: no interface, no route, no rule. Member addresses (10.254.0.0/24) exist only inside
 * these namespaces, so two runs never collide.
 *
 * Partitions are nftables rules in the members' namespaces: to cut `from -> to`, the input chain of
 * `to` drops packets whose source is `from`'s address (real packet loss: TCP stalls, then times
 * out, exactly as on a cut link). Healing flushes the chains.
 *
 * The runner's clients stay in the host namespace and reach each member's client port through a
 * relay: a small process inside the member's namespace accepts on a Unix socket (sockets in the
 * file system cross namespaces) and connects to the member's client address, and a loopback TCP
 * listener in this process forwards to that socket. Clients are never partitioned, as in Jepsen,
 * where the control node keeps talking to every node.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { freePort } from "@skiff/testkit";

const IP = "/usr/sbin/ip";
const NFT = "/usr/sbin/nft";
const TABLE = "jepsen_lite";
const fromSource = import.meta.url.endsWith(".ts");
const relayEntry = fileURLToPath(new URL(fromSource ? "./relay.ts" : "./relay.js", import.meta.url));

/** Why network namespaces cannot be used here, or undefined when they can. */
export function missingNetns(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces and nftables need root";
  if (!existsSync(IP)) return `${IP} is missing (apt-get install iproute2)`;
  if (!existsSync(NFT)) return `${NFT} is missing (apt-get install nftables)`;
  return undefined;
}

function run(cmd: string, args: string[], input?: string): void {
  execFileSync(cmd, args, { stdio: ["pipe", "ignore", "pipe"], input, timeout: 10_000 });
}

/** The flags that make a child node run TypeScript from source, as this process does (under tap). */
export function childExecArgv(): string[] {
  return process.execArgv.filter(
    (a) => a.includes("@tapjs/typescript") || a.startsWith("--conditions") || a === "--enable-source-maps",
  );
}

const PREFIX = "jl-";

/**
 * Removes namespaces left by an earlier jepsen-lite run whose process is gone (a run killed with
 * SIGKILL cannot clean up). Names carry the creating PID: `jl-<pid>-...`.
 */
export function removeStaleNamespaces(): string[] {
  if (!existsSync("/run/netns")) return [];
  const removed: string[] = [];
  for (const name of readdirSync("/run/netns")) {
    const m = /^jl-(\d+)-/.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (alive) continue;
    try {
      run(IP, ["netns", "del", name]);
      removed.push(name);
    } catch {
      // Someone else removed it meanwhile.
    }
  }
  return removed;
}

export interface NetMember {
  /** Namespace name. */
  ns: string;
  /** The member's address inside the namespaces. */
  ip: string;
  /** host:port on loopback where this process forwards to the member's client port. */
  target: string;
}

export class Netns {
  readonly members: NetMember[] = [];
  private readonly sw: string;
  private readonly relays: ChildProcess[] = [];
  private readonly forwarders: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private created: string[] = [];

  private constructor(
    id: string,
    private readonly socketDir: string,
  ) {
    this.sw = `${PREFIX}${id}-sw`;
  }

  /** Creates the switch and `n` member namespaces; `socketDir` holds the relays' Unix sockets. */
  static async create(n: number, socketDir: string, clientPort: number): Promise<Netns> {
    removeStaleNamespaces();
    const id = `${process.pid}-${Math.floor(performance.now()) % 100000}`;
    const net = new Netns(id, socketDir);
    try {
      net.add(net.sw);
      run(IP, ["-n", net.sw, "link", "add", "br0", "type", "bridge"]);
      run(IP, ["-n", net.sw, "link", "set", "br0", "up"]);
      for (let i = 0; i < n; i++) {
        const ns = `${PREFIX}${id}-n${i + 1}`;
        const ip = `10.254.0.${i + 2}`;
        net.add(ns);
        run(IP, ["-n", ns, "link", "set", "lo", "up"]);
        run(IP, [
          "-n",
          ns,
          "link",
          "add",
          "eth0",
          "type",
          "veth",
          "peer",
          "name",
          `n${i + 1}`,
          "netns",
          net.sw,
        ]);
        run(IP, ["-n", net.sw, "link", "set", `n${i + 1}`, "master", "br0", "up"]);
        run(IP, ["-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
        run(IP, ["-n", ns, "link", "set", "eth0", "up"]);
        net.nft(
          ns,
          `add table inet ${TABLE}\nadd chain inet ${TABLE} input { type filter hook input priority 0; policy accept; }\n`,
        );
        const target = await net.forward(ns, i, `${ip}:${clientPort}`);
        net.members.push({ ns, ip, target });
      }
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  private add(ns: string): void {
    run(IP, ["netns", "add", ns]);
    this.created.push(ns);
  }

  private nft(ns: string, script: string): void {
    run(IP, ["netns", "exec", ns, NFT, "-f", "-"], script);
  }

  /** The command prefix that runs a program inside member `i`'s namespace (the PID is kept). */
  exec(i: number): string[] {
    return [IP, "netns", "exec", (this.members[i] as NetMember).ns];
  }

  /** Starts the relay in the member's namespace and a loopback listener in this process. */
  private async forward(ns: string, i: number, to: string): Promise<string> {
    const path = `${this.socketDir}/relay-n${i + 1}.sock`;
    const relay = spawn(
      IP,
      ["netns", "exec", ns, process.execPath, ...childExecArgv(), relayEntry, path, to],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    this.relays.push(relay);
    await new Promise<void>((resolve, reject) => {
      relay.once("exit", (code) => reject(new Error(`relay for ${ns} exited with ${code}`)));
      relay.stdout?.once("data", () => resolve());
    });
    const port = await freePort();
    const server = createServer((client) => {
      const upstream = createConnection({ path });
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    this.forwarders.push(server);
    return `127.0.0.1:${port}`;
  }

  /**
   * Makes exactly the directed cuts in `cuts` ([from, to] member indexes) real, replacing the
   * previous set. An empty list heals the network.
   */
  setCuts(cuts: readonly [number, number][]): void {
    this.members.forEach((m, to) => {
      const from = cuts.filter(([, t]) => t === to).map(([f]) => (this.members[f] as NetMember).ip);
      const rule =
        from.length === 0 ? "" : `add rule inet ${TABLE} input ip saddr { ${from.join(", ")} } drop\n`;
      this.nft(m.ns, `flush chain inet ${TABLE} input\n${rule}`);
    });
  }

  /** Stops relays and forwarders and deletes every namespace this object made. Safe to call twice. */
  async destroy(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const f of this.forwarders) f.close();
    this.forwarders.length = 0;
    await Promise.all(this.relays.map((r) => killAndWait(r)));
    this.relays.length = 0;
    this.destroySync();
  }

  /** Synchronous last-resort cleanup (process exit). */
  destroySync(): void {
    for (const r of this.relays) if (r.exitCode === null && r.signalCode === null) r.kill("SIGKILL");
    for (const ns of this.created.reverse()) {
      try {
        run(IP, ["netns", "del", ns]);
      } catch {
        // Already gone.
      }
    }
    this.created = [];
  }
}

export function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
