/**
 * Opening TCP connections from inside the node's network namespace while the agent stays in the
 * host's: a long-lived helper (assets/skiff-dialer, Perl) runs in the node namespace and listens
 * on a unix socket under the data dir, which the agent reaches from any namespace. It is started
 * on the first dial and again after it dies; it exits when the agent does (its stdin closes).
 * A dial failure carries the errno name in `code` (ECONNREFUSED, ETIMEDOUT...) as net.connect's
 * errors do, so probes can say "connection refused".
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import type { NetworkLogger } from "./logger.js";

/** assets/skiff-dialer, at the same depth from src/network and dist/network. */
export const DIALER_SCRIPT = fileURLToPath(new URL("../../assets/skiff-dialer", import.meta.url));

export interface DialerOptions {
  /** The node namespace the helper runs in. */
  netns: string;
  socketPath: string;
  logger: NetworkLogger;
  perl?: string;
}

/** A dial failure: `code` is the errno name the helper reported (or ETIMEDOUT for no answer). */
export class DialError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "DialError";
  }
}

export class NetnsDialer {
  private helper: ChildProcess | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private readonly open = new Set<Socket>();

  constructor(private readonly opts: DialerOptions) {}

  /** The helper's PID while it runs (for diagnostics and tests). */
  get helperPid(): number | undefined {
    return this.helper?.exitCode === null ? this.helper.pid : undefined;
  }

  /** A connection to host:port from the node namespace, after the helper's OK. */
  async dial(host: string, port: number, timeoutMs: number): Promise<Duplex> {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new DialError(`invalid port ${port}`, "EINVAL");
    if (!/^[A-Za-z0-9.:_-]{1,253}$/.test(host))
      throw new DialError(`invalid host ${JSON.stringify(host)}`, "EINVAL");
    const deadline = Date.now() + Math.max(1, timeoutMs);
    try {
      return await this.tryDial(host, port, timeoutMs, deadline);
    } catch (e) {
      // The helper died between two dials (its socket refuses or is gone): start it once more.
      const code = (e as NodeJS.ErrnoException).code;
      if (e instanceof DialError || (code !== "ECONNREFUSED" && code !== "ENOENT")) throw e;
      this.stopHelper();
      return await this.tryDial(host, port, timeoutMs, deadline);
    }
  }

  private async tryDial(host: string, port: number, timeoutMs: number, deadline: number): Promise<Duplex> {
    await this.ensureHelper();
    const sock = connect({ path: this.opts.socketPath });
    this.open.add(sock);
    sock.once("close", () => this.open.delete(sock));
    try {
      await handshake(sock, `${host} ${port} ${Math.max(1, timeoutMs)}\n`, deadline, `${host}:${port}`);
    } catch (e) {
      sock.destroy();
      throw e;
    }
    return sock;
  }

  private ensureHelper(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("dialer closed"));
    if (this.helper !== undefined && this.helper.exitCode === null && this.starting === undefined)
      return Promise.resolve();
    this.starting ??= this.startHelper().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private startHelper(): Promise<void> {
    const { netns, socketPath, logger } = this.opts;
    const child = spawn(
      "ip",
      ["netns", "exec", netns, this.opts.perl ?? "/usr/bin/perl", DIALER_SCRIPT, socketPath],
      { stdio: ["pipe", "pipe", "pipe"], detached: true },
    );
    this.helper = child;
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString("utf8")).slice(-2000);
    });
    child.stdin?.on("error", () => {});
    return new Promise<void>((resolve, reject) => {
      let out = "";
      const onData = (b: Buffer) => {
        out += b.toString("utf8");
        if (out.includes("READY\n")) {
          child.stdout?.off("data", onData);
          child.stdout?.resume();
          logger.debug({ netns, pid: child.pid }, "dialer started");
          resolve();
        }
      };
      child.stdout?.on("data", onData);
      child.once("error", reject);
      child.once("exit", (code, signal) => {
        if (this.helper === child) this.helper = undefined;
        const why = `dialer in ${netns} exited (code ${code}, signal ${signal}): ${stderr.trim()}`;
        if (!this.closed) logger.warn({ netns, code, signal }, "dialer exited");
        reject(new Error(why));
      });
    });
  }

  private stopHelper(): ChildProcess | undefined {
    const child = this.helper;
    this.helper = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return child;
  }

  /** Ends every connection and the helper, and waits for the helper to exit. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.open) s.destroy();
    const child = this.stopHelper();
    if (child !== undefined && child.exitCode === null && child.signalCode === null)
      await new Promise<void>((resolve) => child.once("exit", () => resolve()));
    rmSync(this.opts.socketPath, { force: true });
  }
}

/**
 * Sends the request line and waits for OK or ERR. It reads with 'readable' and read(), not
 * 'data', so the stream is left neither flowing nor paused for its consumer; bytes past the
 * answer go back with unshift.
 */
function handshake(sock: Socket, request: string, deadline: number, target: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const cleanup = () => {
      clearTimeout(timer);
      sock.off("readable", onReadable);
      sock.off("error", onError);
      sock.off("end", onEnd);
    };
    // The helper times the connect itself; this one only covers a helper that never answers.
    const timer = setTimeout(
      () => {
        cleanup();
        reject(new DialError(`connect ETIMEDOUT ${target}`, "ETIMEDOUT"));
      },
      Math.max(1, deadline - Date.now()) + 1000,
    );
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onEnd = () => {
      cleanup();
      reject(new DialError(`dialer closed the connection to ${target} before answering`, "ECONNRESET"));
    };
    const onReadable = () => {
      for (;;) {
        const chunk = sock.read() as Buffer | null;
        if (chunk === null) return;
        buf = Buffer.concat([buf, chunk]);
        const nl = buf.indexOf(10);
        if (nl < 0) continue;
        cleanup();
        const line = buf.subarray(0, nl).toString("utf8");
        const rest = buf.subarray(nl + 1);
        if (rest.length > 0) sock.unshift(rest);
        if (line === "OK") return resolve();
        const m = /^ERR (\S+) ?(.*)$/.exec(line);
        const code = m?.[1] ?? "EIO";
        return reject(new DialError(`connect ${code} ${target}${m?.[2] ? ` (${m[2]})` : ""}`, code));
      }
    };
    sock.on("readable", onReadable);
    sock.on("error", onError);
    sock.on("end", onEnd);
    sock.write(request);
  });
}
