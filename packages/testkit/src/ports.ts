/**
 * Loopback ports for servers that must be told their port before they start (Raft members name
 * each other's peer URLs; etcd takes its URLs as flags). Where a server can listen on port 0 and
 * report the port it got, use that instead.
 *
 * A port is random in 10000-29999, below Linux's ephemeral range (32768-60999), where bind(0) and
 * outgoing connections never land. Checking that a port is free by binding it is not enough when
 * several processes of the suite run at once (tap runs two test files at a time, and tests start
 * children that pick ports too): another one can take the port between the check and the
 * server's bind. So a port is first reserved with a file created exclusively under
 * os.tmpdir()/skiff-ports/, named after the port and holding the owner's PID; only then is it
 * checked by binding. The reservation lasts until the process exits. A file left by a process
 * that died without exiting normally (SIGKILL) is reclaimed once its PID is gone.
 */
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const first = 10_000;
const count = 20_000;
/** An empty reservation (its owner died between creating and writing it) is stale after this. */
const emptyStaleMs = 60_000;

const reserved = new Set<number>();
let dir: string | undefined;

/** os.tmpdir()/skiff-ports, created on first use. */
export function reservationDir(): string {
  if (dir === undefined) {
    dir = join(tmpdir(), "skiff-ports");
    mkdirSync(dir, { recursive: true });
    try {
      chmodSync(dir, 0o1777); // as /tmp: every user's suite reserves here, and removes only its own
    } catch {
      // another user's directory, already so
    }
    process.once("exit", () => {
      for (const port of reserved) release(port);
    });
  }
  return dir;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** Creates the reservation file exclusively; false if another one exists. */
function create(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (e) {
    if (errno(e) === "EEXIST") return false;
    throw e;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === "EPERM"; // exists, owned by someone else
  }
}

/**
 * Removes a reservation whose owner is gone, holding `<file>.lock` (created exclusively) so that
 * two processes reclaiming the same file cannot remove a fresh reservation made in between.
 * Returns true when the file is gone.
 */
function reclaim(path: string): boolean {
  const lock = `${path}.lock`;
  let fd: number;
  try {
    fd = openSync(lock, "wx");
  } catch (e) {
    if (errno(e) === "EEXIST") return false;
    throw e;
  }
  try {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if (errno(e) === "ENOENT") return true;
      throw e;
    }
    const pid = Number.parseInt(text, 10);
    const stale = Number.isInteger(pid) ? !alive(pid) : Date.now() - statSync(path).mtimeMs > emptyStaleMs;
    if (!stale) return false;
    try {
      unlinkSync(path);
    } catch (e) {
      if (errno(e) === "EPERM" || errno(e) === "EACCES") return false; // another user's: it stays taken
      throw e;
    }
    return true;
  } finally {
    closeSync(fd);
    unlinkSync(lock);
  }
}

/**
 * Reserves `port` for this process until it exits; false if another live process of the suite
 * holds it. (freePort picks the port; this is for a test of the reservation itself.)
 */
export function reservePort(port: number): boolean {
  if (reserved.has(port)) return false;
  const path = join(reservationDir(), String(port));
  if (!create(path) && !(reclaim(path) && create(path))) return false;
  reserved.add(port);
  return true;
}

function release(port: number): void {
  reserved.delete(port);
  try {
    unlinkSync(join(reservationDir(), String(port)));
  } catch {
    // already gone
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A loopback port no other process of the suite holds or will be given, and free right now. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = first + Math.floor(Math.random() * count);
    if (!reservePort(port)) continue;
    if (await bindable(port)) return port;
    release(port); // in use by something outside the suite
  }
  throw new Error(`no free port found in ${first}-${first + count - 1}`);
}
