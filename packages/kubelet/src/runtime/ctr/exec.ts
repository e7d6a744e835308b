/**
 * Exec through `ctr tasks exec` as a child process whose stdio is the session's. ctr's exit
 * status is the exec'd process's. Killing ctr does not end the process in the container, so
 * kill() also sends SIGKILL to the exec id with `ctr tasks kill --exec-id`.
 *
 * With a tty ctr insists on a terminal on its stdin; util-linux `script` gives it one. script
 * only takes a shell command string, so the argv travels in the environment (SKIFF_ARG_<i>) and
 * the string itself is constant: no user input is ever parsed by a shell.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, readlink } from "node:fs/promises";
import type { ExecOptions, ExecResult, ExecSession } from "../runtime.js";
import { type CtrTarget, ctrBaseArgs, runCtr } from "./ctr.js";

const EXEC_ARGV = 'exec { $ENV{SKIFF_ARG_0} } map { $ENV{"SKIFF_ARG_$_"} } 0 .. $ENV{SKIFF_ARGC} - 1';
const SCRIPT_COMMAND = 'exec /usr/bin/perl -e "$SKIFF_EXEC_PL"';

function signalNumber(sig: NodeJS.Signals | null): number {
  const n: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };
  return sig ? (n[sig] ?? 9) : 0;
}

function spawnCtrExec(argv: string[], tty: boolean, stdin: boolean): ChildProcess {
  const stdio: ["pipe" | "ignore", "pipe", "pipe"] = [stdin ? "pipe" : "ignore", "pipe", "pipe"];
  if (!tty) return spawn("ctr", argv, { stdio });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHELL: "/bin/sh",
    SKIFF_EXEC_PL: EXEC_ARGV,
    SKIFF_ARGC: String(argv.length + 1),
    SKIFF_ARG_0: "ctr",
  };
  argv.forEach((a, i) => {
    env[`SKIFF_ARG_${i + 1}`] = a;
  });
  return spawn("script", ["-qfec", SCRIPT_COMMAND, "/dev/null"], { stdio, env });
}

export function startExec(target: CtrTarget, containerId: string, opts: ExecOptions): ExecSession {
  const execId = `skiff-${randomBytes(8).toString("hex")}`;
  const cmd = opts.env?.length
    ? ["env", ...opts.env.map((e) => `${e.name}=${e.value}`), ...opts.cmd]
    : [...opts.cmd];
  const tty = opts.tty ?? false;
  const argv = [
    ...ctrBaseArgs(target),
    "tasks",
    "exec",
    "--exec-id",
    execId,
    ...(tty ? ["--tty"] : []),
    "--",
    containerId,
    ...cmd,
  ];
  const child = spawnCtrExec(argv, tty, opts.stdin ?? false);
  const exited = new Promise<number>((resolve) => {
    child.once("error", () => resolve(126));
    child.once("close", (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });
  const kill = () => {
    runCtr(target, ["tasks", "kill", "--exec-id", execId, "--signal", "SIGKILL", containerId], {
      timeoutMs: 5000,
    }).catch(() => undefined);
    // ctr returns once the killed process's exit reaches it; this is only for a hung ctr.
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }, 5000).unref();
  };
  return {
    stdin: child.stdin ?? null,
    stdout: child.stdout as NonNullable<ChildProcess["stdout"]>,
    stderr: child.stderr as NonNullable<ChildProcess["stderr"]>,
    resize: (cols, rows) => {
      if (tty && child.pid) void resizeTty(child.pid, cols, rows).catch(() => undefined);
    },
    kill,
    exited,
  };
}

/**
 * Sets the size of the terminal script made for ctr (script execs ctr through sh and perl, so
 * script's one child is ctr); the kernel then sends SIGWINCH to ctr, which resizes the
 * container's tty as `ctr tasks exec --tty` does for its own terminal.
 */
async function resizeTty(scriptPid: number, cols: number, rows: number): Promise<void> {
  const children = (await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, "utf8"))
    .trim()
    .split(/\s+/);
  const ctrPid = children[0];
  if (!ctrPid) return;
  const pts = await readlink(`/proc/${ctrPid}/fd/0`);
  if (!pts.startsWith("/dev/pts/")) return;
  await new Promise<void>((resolve) => {
    execFile("stty", ["-F", pts, "cols", String(cols), "rows", String(rows)], { timeout: 5000 }, () =>
      resolve(),
    );
  });
}

export async function execSync(
  target: CtrTarget,
  containerId: string,
  cmd: readonly string[],
  timeoutMs: number,
): Promise<ExecResult> {
  const s = startExec(target, containerId, { cmd });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  s.stdout.on("data", (d: Buffer) => out.push(d));
  s.stderr.on("data", (d: Buffer) => err.push(d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    s.kill();
  }, timeoutMs);
  const exitCode = await s.exited;
  clearTimeout(timer);
  return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut };
}
