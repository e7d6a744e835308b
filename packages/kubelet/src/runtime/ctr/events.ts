/**
 * containerd's event stream through one long-lived `ctr events` child, parsed line by line. ctr
 * prints each envelope as `<timestamp (4 words)> <namespace> <topic> <event JSON>`; protobuf's
 * JSON leaves out zero values, so a `/tasks/exit` with status 0 has no `exit_status`. The child
 * is restarted (with a pause) when it ends while the stream is wanted, e.g. when containerd
 * restarts; events missed meanwhile are recovered by the runtime's listing, not here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Logger } from "@skiff/component-base";
import { type CtrTarget, ctrBaseArgs } from "./ctr.js";

export type TaskEvent =
  | { topic: "/tasks/start"; containerId: string; at: number }
  | { topic: "/tasks/exit"; containerId: string; execId: string; exitStatus: number; at: number }
  | { topic: "/tasks/oom"; containerId: string; at: number };

/** Parses one line of `ctr events`; undefined for other topics, namespaces or noise. */
export function parseEventLine(line: string, namespace: string): TaskEvent | undefined {
  const m = /^(\S+ \S+) (\S+) \S+ (\S+) (\S+) (\{.*\})\s*$/.exec(line);
  if (!m) return undefined;
  const [, dateTime, zone, ns, topic, json] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (ns !== namespace) return undefined;
  if (topic !== "/tasks/start" && topic !== "/tasks/exit" && topic !== "/tasks/oom") return undefined;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const containerId = typeof body.container_id === "string" ? body.container_id : undefined;
  if (!containerId) return undefined;
  const envelopeAt = Date.parse(
    `${dateTime.replace(" ", "T").replace(/(\.\d{3})\d*/, "$1")}${zone === "+0000" ? "Z" : zone}`,
  );
  const at = Number.isFinite(envelopeAt) ? envelopeAt : Date.now();
  if (topic === "/tasks/exit") {
    const exitedAt = typeof body.exited_at === "string" ? Date.parse(body.exited_at) : Number.NaN;
    return {
      topic,
      containerId,
      execId: typeof body.id === "string" ? body.id : containerId,
      exitStatus: typeof body.exit_status === "number" ? body.exit_status : 0,
      at: Number.isFinite(exitedAt) ? exitedAt : at,
    };
  }
  return { topic, containerId, at };
}

export class EventStream {
  private child: ChildProcess | undefined;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readyResolve: (() => void) | undefined;

  constructor(
    private readonly target: CtrTarget,
    private readonly onEvent: (e: TaskEvent) => void,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the child; resolves once it runs. ctr subscribes right after starting, so a short
   * window remains where an event can be missed: the runtime's listing covers it.
   */
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.readyResolve = resolve;
      this.spawnChild();
    });
  }

  private spawnChild(): void {
    if (this.closed) return;
    // Filter on the envelope's namespace in containerd; the parser checks it again.
    const args = [...ctrBaseArgs(this.target), "events", `namespace==${this.target.namespace}`];
    const child = spawn("ctr", args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.child = child;
    child.once("spawn", () => {
      this.readyResolve?.();
      this.readyResolve = undefined;
    });
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      const e = parseEventLine(line, this.target.namespace);
      if (e) this.onEvent(e);
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.on("error", (err) => this.logger.warn({ err }, "ctr events failed to start"));
    child.on("close", (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closed) return;
      this.logger.warn({ code, signal, stderr: stderr.trim() }, "ctr events ended; restarting");
      this.restartTimer = setTimeout(() => this.spawnChild(), 1000);
      this.restartTimer.unref();
      this.readyResolve?.();
      this.readyResolve = undefined;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.kill("SIGTERM");
    await done;
  }
}
