/**
 * /exec and /attach over WebSocket (kube's kubelet remotecommand server, served in the channel
 * protocols of channels.ts). exec runs a command in the container through the runtime; when it
 * ends, its exit is reported on the error channel (Success, or NonZeroExitCode with the code)
 * and the socket closes with 1000.
 *
 * attach: Skiff's containers write their stdout and stderr to the log files (the containerd
 * logger), not to a stream the kubelet holds, so attach follows the container's log from its end
 * on the stdout channel until the container stops; it cannot feed the container's stdin and
 * answers a request with stdin=true with a Failure Status on the error channel.
 */
import { Writable } from "node:stream";
import type { WebSocket } from "ws";
import { CLOSE, ERROR, pump, RESIZE, STDERR, STDIN, STDOUT, sendFrame, V5_PROTOCOL } from "./channels.js";
import type { KubeletServerDeps } from "./deps.js";
import { badRequest, exitStatus, failureStatus, type Status } from "./status.js";

const TRUE = new Set(["true", "1", "True", "TRUE", "t", "T"]);

export interface StreamOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** kube's remotecommand NewOptions: the streams asked for, at least one of them. */
export function parseStreamOptions(q: URLSearchParams, needCommand: boolean): StreamOptions {
  const on = (n: string) => TRUE.has(q.get(n) ?? "");
  const o = {
    command: q.getAll("command"),
    stdin: on("stdin"),
    stdout: on("stdout"),
    stderr: on("stderr"),
    tty: on("tty"),
  };
  if (!o.stdin && !o.stdout && !o.stderr)
    throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
  if (needCommand && o.command.length === 0) throw badRequest("you must specify a command");
  // With a tty stderr is the terminal too (kube: tty and stderr are exclusive).
  if (o.tty) o.stderr = false;
  return o;
}

/** Reports `status` on the error channel and closes the socket normally. */
export async function finish(ws: WebSocket, status: Status): Promise<void> {
  await sendFrame(ws, ERROR, JSON.stringify(status));
  if (ws.readyState === ws.OPEN) ws.close(1000);
}

export async function serveExec(
  deps: KubeletServerDeps,
  ws: WebSocket,
  containerID: string,
  o: StreamOptions,
): Promise<void> {
  let session: Awaited<ReturnType<KubeletServerDeps["exec"]>>;
  try {
    session = await deps.exec(containerID, { cmd: o.command, tty: o.tty, stdin: o.stdin });
  } catch (e) {
    return finish(ws, failureStatus(`error executing command ${JSON.stringify(o.command)}: ${String(e)}`));
  }
  const v5 = ws.protocol === V5_PROTOCOL;
  const stdin = session.stdin;
  ws.on("message", (data: Buffer) => {
    if (data.length === 0) return;
    const channel = data[0];
    const body = data.subarray(1);
    if (channel === STDIN && stdin !== null && !stdin.writableEnded) stdin.write(body);
    else if (channel === RESIZE) resize(session, body);
    else if (v5 && channel === CLOSE && body[0] === STDIN && stdin !== null) stdin.end();
  });
  ws.once("close", () => {
    // The client went away: the command has no one to talk to (kube kills it with the stream).
    stdin?.destroy();
    session.kill();
  });
  stdin?.on("error", () => undefined); // the process may exit before reading its input
  const out = o.stdout ? pump(ws, STDOUT, session.stdout) : drain(session.stdout);
  const err = o.stderr ? pump(ws, STDERR, session.stderr) : drain(session.stderr);
  const exitCode = await session.exited;
  await Promise.all([out, err]);
  deps.logger.debug({ containerID, command: o.command, exitCode }, "exec ended");
  await finish(ws, exitStatus(o.command, exitCode));
}

function resize(session: { resize(cols: number, rows: number): void }, body: Buffer): void {
  try {
    const size = JSON.parse(body.toString()) as { Width?: number; Height?: number };
    if (typeof size.Width === "number" && typeof size.Height === "number")
      session.resize(size.Width, size.Height);
  } catch {
    // kube ignores a resize message it cannot decode.
  }
}

function drain(s: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    s.on("data", () => undefined);
    s.once("end", resolve);
    s.once("close", resolve);
    s.once("error", () => resolve());
  });
}

/** attach: the container's output (from the log, following) until it stops. See the header. */
export async function serveAttach(
  deps: KubeletServerDeps,
  ws: WebSocket,
  files: readonly string[],
  containerID: string,
  o: StreamOptions,
): Promise<void> {
  if (o.stdin)
    return finish(
      ws,
      failureStatus(
        "Skiff's kubelet cannot attach to a container's standard input: the container's output goes to its log; use kubectl logs -f, or attach without -i",
      ),
    );
  const aborted = new AbortController();
  ws.once("close", () => aborted.abort());
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (ws.readyState !== ws.OPEN) return done();
      void sendFrame(ws, STDOUT, chunk).then(() => done());
    },
  });
  await deps.readLogs(files, { follow: true, tailLines: 0 }, out, {
    containerDone: deps.containerRunning(containerID),
    signal: aborted.signal,
  });
  await finish(ws, { metadata: {}, status: "Success" });
}
