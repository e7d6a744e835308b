/**
 * A containerd the agent owns: its own root, state, sockets and config under one directory, with
 * the CRI plugin disabled (the kubelet drives containerd through ctr, not CRI). Several agents on
 * one machine each run one; containerd namespaces keep their objects apart.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "@skiff/component-base";

export interface ContainerdOptions {
  /** Holds config.toml, root/, state/, containerd.sock and containerd.log. */
  dir: string;
  logger: Logger;
  /** Default "containerd" from PATH. */
  binary?: string;
  /** How long to wait for it to answer; default 20 s. */
  startTimeoutMs?: number;
}

export interface ContainerdProcess {
  /** The grpc socket for `ctr --address`. */
  address: string;
  pid: number;
  /** SIGTERM, wait for the process to end (containerd takes over a second), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** A unix socket path must fit sockaddr_un.sun_path (108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

function configToml(dir: string, address: string): string {
  // TOML basic strings: JSON string escaping is a subset that TOML reads the same way.
  const q = (s: string) => JSON.stringify(s);
  return [
    "version = 2",
    `root = ${q(join(dir, "root"))}`,
    `state = ${q(join(dir, "state"))}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    "",
    "[grpc]",
    `  address = ${q(address)}`,
    "",
    "[ttrpc]",
    `  address = ${q(`${address}.ttrpc`)}`,
    "",
  ].join("\n");
}

/** `ctr version`'s server version, e.g. "1.6.20~ds1". */
export function containerdVersion(address: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      "ctr",
      ["--address", address, "version"],
      { timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`ctr version: ${stderr.trim() || err.message}`));
          return;
        }
        const server = stdout.split(/^Server:/m)[1] ?? "";
        const m = /Version:\s*(\S+)/.exec(server);
        if (!m?.[1]) reject(new Error(`ctr version: no server version in ${JSON.stringify(stdout)}`));
        else resolvePromise(m[1]);
      },
    );
  });
}

export async function startContainerd(opts: ContainerdOptions): Promise<ContainerdProcess> {
  const dir = resolve(opts.dir);
  const address = join(dir, "containerd.sock");
  if (Buffer.byteLength(`${address}.ttrpc`) > MAX_SOCKET_PATH)
    throw new Error(`containerd socket path ${address}.ttrpc is too long for a unix socket`);
  await mkdir(dir, { recursive: true, mode: 0o711 });
  const config = join(dir, "config.toml");
  const pidFile = join(dir, "containerd.pid");
  // An agent killed with -9 leaves its containerd running (its own process group): the next agent
  // takes that one over instead of starting a second containerd on the same root and state.
  const adopted = await adoptContainerd(pidFile, config, address, opts);
  if (adopted !== undefined) return adopted;
  await writeFile(config, configToml(dir, address));
  const log = await open(join(dir, "containerd.log"), "a");
  const child = spawn(opts.binary ?? "containerd", ["--config", config], {
    stdio: ["ignore", log.fd, log.fd],
    // Its own process group: a terminal's Ctrl-C reaches the agent, which stops containerd itself
    // after it has looked at what still runs.
    detached: true,
  });
  // Listen before any await: "spawn" is emitted on the next tick.
  const spawned = Promise.race([once(child, "spawn").then(() => undefined), once(child, "error")]);
  await log.close();
  let exited = false;
  const exit = new Promise<void>((resolveExit) => {
    child.once("close", (code, signal) => {
      exited = true;
      opts.logger.info({ pid: child.pid, code, signal }, "containerd exited");
      resolveExit();
    });
  });
  const spawnError = await spawned;
  if (spawnError) throw new Error(`containerd failed to start: ${String(spawnError[0])}`);
  const pid = child.pid as number;
  await writeFile(pidFile, `${pid}\n`);

  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (!exited) {
        opts.logger.warn({ pid }, "containerd did not stop after SIGTERM; killing it");
        child.kill("SIGKILL");
      }
    }, 10_000);
    await exit;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    if (exited) throw new Error(`containerd exited during start-up; see ${join(dir, "containerd.log")}`);
    try {
      const version = await containerdVersion(address, 2000);
      opts.logger.info({ pid, address, version }, "containerd started");
      return { address, pid, stop };
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`containerd did not answer at ${address}: ${String(last)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The containerd a previous agent started on this directory, if it still runs and answers. */
async function adoptContainerd(
  pidFile: string,
  config: string,
  address: string,
  opts: ContainerdOptions,
): Promise<ContainerdProcess | undefined> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.split("\0").includes(config)) return undefined;
  const version = await containerdVersion(address, 5000).catch(() => undefined);
  if (version === undefined) {
    // Alive but not answering: stop it and start afresh.
    process.kill(pid, "SIGKILL");
    return undefined;
  }
  opts.logger.info({ pid, address, version }, "containerd adopted");
  return {
    address,
    pid,
    async stop() {
      if (!alive(pid)) return;
      process.kill(pid, "SIGTERM");
      const deadline = Date.now() + 10_000;
      while (alive(pid)) {
        if (Date.now() > deadline) {
          opts.logger.warn({ pid }, "containerd did not stop after SIGTERM; killing it");
          process.kill(pid, "SIGKILL");
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      opts.logger.info({ pid }, "containerd exited");
    },
  };
}
