/**
 * The node gateway: ports inside the node's network namespace (DNS on 53, the API server relay
 * on 6443) that lead to unix sockets the agent serves from the host namespace, since the agent
 * itself stays there. A helper (assets/skiff-gateway, Perl) listens inside the namespace and
 * relays: TCP with a PROXY protocol v1 line first, UDP as length-prefixed frames over one unix
 * connection. It runs in its own process group, exits with the agent (its stdin closes), and is
 * restarted with a doubling back-off when it dies, as the kubelet restarts a crashed container.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { isIPv4 } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NetworkLogger } from "./logger.js";

/** assets/skiff-gateway, at the same depth from src/network and dist/network. */
export const GATEWAY_SCRIPT = fileURLToPath(new URL("../../assets/skiff-gateway", import.meta.url));

/** The API server's port in the node namespace (kube's default secure port). */
export const APISERVER_GATEWAY_PORT = 6443;

export interface GatewayListener {
  protocol: "tcp" | "udp";
  port: number;
  /** The unix socket, served by the agent, each connection (tcp) or the frames (udp) go to. */
  socketPath: string;
}

export interface NodeGatewayOptions {
  /** The node namespace the helper runs in; undefined: the host's (--host-network). */
  netns?: string;
  /** The address to listen on; default 0.0.0.0 (every address of the namespace). */
  address?: string;
  /**
   * The address UDP ports bind (default: `address`): a UDP answer leaves from the bound
   * address, and must leave from the one kube-proxy DNATed the query to (the node's IP) for
   * conntrack to undo the DNAT. It may not exist yet (the helper binds with IP_FREEBIND).
   */
  udpAddress?: string;
  logger: NetworkLogger;
  perl?: string;
  /** First restart delay after the helper died; doubles up to maxBackoffMs. Default 1 s. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** How long the helper may take to listen before it counts as failed. Default 10 s. */
  readyTimeoutMs?: number;
}

/** A helper that ran this long before dying starts the back-off over (kube's backoff reset). */
const STABLE_RUN_MS = 60_000;

export class NodeGateway {
  private helper: ChildProcess | undefined;
  /** The helper once it reported READY. */
  private listening: ChildProcess | undefined;
  private listeners: GatewayListener[] = [];
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private generation = 0;

  constructor(private readonly opts: NodeGatewayOptions) {}

  /** The helper's PID while it runs and listens (for diagnostics and tests). */
  get helperPid(): number | undefined {
    const h = this.helper;
    return h !== undefined && h === this.listening && h.exitCode === null && h.signalCode === null
      ? h.pid
      : undefined;
  }

  /**
   * Runs the helper with these listeners (replacing a running one) and resolves once it
   * listens. When that first launch fails, the promise rejects and the gateway keeps trying
   * with back-off until stop().
   */
  async start(listeners: readonly GatewayListener[]): Promise<void> {
    const checked = validateListeners(listeners);
    for (const a of [this.opts.address, this.opts.udpAddress])
      if (a !== undefined && !isIPv4(a))
        throw new Error(`gateway: invalid listen address ${JSON.stringify(a)}`);
    await this.stop();
    this.listeners = checked;
    this.stopped = false;
    this.backoffMs = 0;
    if (checked.length === 0) return;
    await this.launch(++this.generation);
  }

  /** Ends the helper (and its connection processes) and waits for it to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.helper;
    this.helper = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    signalGroup(child, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  private args(): string[] {
    const specs = this.listeners.flatMap((l) => {
      const address = l.protocol === "udp" ? (this.opts.udpAddress ?? this.opts.address) : this.opts.address;
      return [
        "--listen",
        `${l.protocol}:${address === undefined ? "" : `${address}:`}${l.port}=${l.socketPath}`,
      ];
    });
    const perl = [this.opts.perl ?? "/usr/bin/perl", GATEWAY_SCRIPT, ...specs];
    const ns = this.opts.netns;
    return ns === undefined ? perl : ["ip", "netns", "exec", ns, ...perl];
  }

  private launch(generation: number): Promise<void> {
    const { logger } = this.opts;
    const [cmd, ...args] = this.args() as [string, ...string[]];
    // Its own process group, so that stop() ends the connection processes it forked too.
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.helper = child;
    const startedAt = Date.now();
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString("utf8")).slice(-2000);
    });
    // stdin stays open and unused: the helper exits when it closes, i.e. when the agent dies.
    child.stdin?.on("error", () => {});
    let ready = false;
    child.once("exit", (code, signal) => {
      if (this.helper === child) this.helper = undefined;
      if (this.stopped || generation !== this.generation) return;
      const ranMs = Date.now() - startedAt;
      if (ready && ranMs >= STABLE_RUN_MS) this.backoffMs = 0;
      this.backoffMs =
        this.backoffMs === 0
          ? (this.opts.initialBackoffMs ?? 1000)
          : Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
      logger.warn(
        { netns: this.opts.netns, code, signal, stderr: stderr.trim(), restartInMs: this.backoffMs },
        "node gateway exited",
      );
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.stopped || generation !== this.generation) return;
        this.launch(generation).catch(() => {
          // Logged by the exit handler, which schedules the next try.
        });
      }, this.backoffMs);
    });
    return new Promise<void>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => {
        signalGroup(child, "SIGKILL");
        reject(new Error(`node gateway did not listen within ${this.opts.readyTimeoutMs ?? 10_000} ms`));
      }, this.opts.readyTimeoutMs ?? 10_000);
      const onData = (b: Buffer) => {
        out += b.toString("utf8");
        if (!out.includes("READY\n")) return;
        ready = true;
        this.listening = child;
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        logger.info(
          {
            netns: this.opts.netns,
            pid: child.pid,
            listeners: this.listeners.map((l) => `${l.protocol}:${l.port}`),
          },
          "node gateway listening",
        );
        resolve();
      };
      child.stdout?.on("data", onData);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`node gateway exited (code ${code}, signal ${signal}): ${stderr.trim()}`));
      });
    });
  }
}

function validateListeners(listeners: readonly GatewayListener[]): GatewayListener[] {
  const seen = new Set<string>();
  for (const l of listeners) {
    if (l.protocol !== "tcp" && l.protocol !== "udp")
      throw new Error(`gateway: invalid protocol ${JSON.stringify(l.protocol)}`);
    if (!Number.isInteger(l.port) || l.port < 1 || l.port > 65535)
      throw new Error(`gateway: invalid port ${l.port}`);
    if (l.socketPath === "" || /[\0\n]/.test(l.socketPath))
      throw new Error(`gateway: invalid socket path ${JSON.stringify(l.socketPath)}`);
    const key = `${l.protocol}:${l.port}`;
    if (seen.has(key)) throw new Error(`gateway: ${key} listed twice`);
    seen.add(key);
  }
  return listeners.map((l) => ({ ...l }));
}

/** Signals the helper's process group (detached: its PID is the group's id). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/**
 * Where the agent's end of a gateway port listens: `<data-dir>/gateway/<name>`, or the temp dir
 * when that is too long for a unix socket path (108 bytes), as the dialer's socket.
 */
export function gatewaySocketPath(dataDir: string, nodeName: string, name: string): string {
  const inDataDir = join(dataDir, "gateway", name);
  return Buffer.byteLength(inDataDir) < 100 ? inDataDir : join(tmpdir(), `skiff-gateway-${nodeName}-${name}`);
}
