/**
 * What FakeRuntime's processes do when a test scripts nothing, modelled on busybox in a container.
 * Container programs: the ones the runtime contract suite runs (its `contractPrograms`), matched
 * by exact argv, each with the behaviour busybox gives it as PID 1. Exec: a few busybox commands
 * (echo, cat, sleep, exit, true, false), alone or as a `sh -c` list of simple commands. Anything
 * else fails the way busybox sh reports a missing command (127) rather than pretending success:
 * a test that needs more scripts it through FakeRuntimeOptions.
 */
import type { Clock } from "@skiff/client";

export interface LogLine {
  stream: "stdout" | "stderr";
  /** One line, without its newline. */
  text: string;
}

/** How a container's main process behaves once started. */
export interface ProcessBehaviour {
  /** Exits by itself this long after starting (absent: runs until signalled). */
  exitAfterMs?: number;
  /** The exit code of that exit (default 0). */
  exitCode?: number;
  /** Instead of exiting, is OOM-killed after exitAfterMs: an oom event, then exit 137. */
  oom?: boolean;
  /** SIGTERM (and SIGINT) does nothing; only SIGKILL ends it. */
  ignoreSigterm?: boolean;
  /** startContainer fails with this message (e.g. the executable does not exist). */
  startError?: string;
  /**
   * Lines it writes as it starts, appended to ContainerConfig.logPath in the CRI format as the
   * runtime's logger would (the fake writes no log file for a process without output).
   */
  output?: readonly LogLine[];
}

export interface ExecReply {
  exitCode: number;
  stdout?: string;
  stderr?: string;
}

export interface ExecContext {
  /** Everything written to the exec's stdin, once it was closed (empty without stdin). */
  stdin: Buffer;
  /** Aborted when the exec is killed (kill() or an execSync timeout). */
  signal: AbortSignal;
  clock: Clock;
}

/** What an exec runs: the answer a test scripts for a command in a container. */
export type ExecHandler = (
  containerId: string,
  cmd: readonly string[],
  ctx: ExecContext,
) => ExecReply | Promise<ExecReply>;

// These argvs are the runtime contract suite's contractPrograms (test/runtime-contract.ts);
// test/runtime-fake.test.ts checks that every one of them is known here.
const PROGRAMS: ReadonlyArray<{ args: readonly string[]; behaviour: ProcessBehaviour }> = [
  // busybox sleep sets no SIGTERM handler, and the kernel drops unhandled signals to PID 1.
  { args: ["sleep", "3600"], behaviour: { ignoreSigterm: true } },
  // The trap is set before "ready" is written, so from then on SIGTERM exits 143.
  {
    args: ["sh", "-c", "trap 'exit 143' TERM; echo ready; while true; do sleep 0.1; done"],
    behaviour: { output: [{ stream: "stdout", text: "ready" }] },
  },
  {
    args: ["sh", "-c", "echo out; echo err >&2; exit 3"],
    behaviour: {
      output: [
        { stream: "stdout", text: "out" },
        { stream: "stderr", text: "err" },
      ],
      exitAfterMs: 0,
      exitCode: 3,
    },
  },
  { args: ["sh", "-c", "sleep 1; exit 5"], behaviour: { exitAfterMs: 1000, exitCode: 5 } },
];

/** What a program can see of its container: its hostname (FakeRuntime works it out). */
export interface ProgramContext {
  hostname?: string;
}

/** The behaviour of a known container program; undefined for any other argv. */
export function knownProgram(
  args: readonly string[],
  ctx: ProgramContext = {},
): ProcessBehaviour | undefined {
  // busybox hostname prints the UTS namespace's name the process started in, and exits.
  if (args.length === 1 && args[0] === "hostname")
    return { output: [{ stream: "stdout", text: ctx.hostname ?? "localhost" }], exitAfterMs: 0, exitCode: 0 };
  const p = PROGRAMS.find((p) => p.args.length === args.length && p.args.every((a, i) => a === args[i]));
  return p === undefined ? undefined : structuredClone(p.behaviour);
}

/** The default ExecHandler: a few busybox commands, directly or in a `sh -c` list. */
export async function busyboxExec(_id: string, cmd: readonly string[], ctx: ExecContext): Promise<ExecReply> {
  const out = { stdout: "", stderr: "" };
  if (cmd[0] === "sh" && cmd[1] === "-c" && cmd.length >= 3) {
    let status = 0;
    for (const part of (cmd[2] ?? "").split(/[;\n]/)) {
      let words = part.trim();
      if (words === "") continue;
      // Only `cmd args` with an optional trailing `>&2`: no quoting, expansion, pipes or lists.
      const toStderr = / >&2$/.test(words);
      if (toStderr) words = words.slice(0, -4).trimEnd();
      if (/['"`$|&<>(){}*?\\]/.test(words)) {
        out.stderr += `sh: the fake runtime cannot run: ${part.trim()}\n`;
        return { exitCode: 2, ...out };
      }
      const [name = "", ...args] = words.split(/\s+/);
      if (name === "exit")
        return { exitCode: args[0] === undefined ? status : Number(args[0]) & 255, ...out };
      const r = await command(name, args, ctx, out, toStderr ? "stderr" : "stdout");
      if (r === undefined) {
        out.stderr += `sh: ${name}: not found\n`;
        status = 127;
      } else status = r;
      if (ctx.signal.aborted) return { exitCode: 137, ...out };
    }
    return { exitCode: status, ...out };
  }
  const [name = "", ...args] = cmd;
  const r = await command(name, args, ctx, out, "stdout");
  if (r === undefined)
    return { exitCode: 127, stderr: `exec: "${name}": executable file not found in $PATH\n` };
  return { exitCode: ctx.signal.aborted ? 137 : r, ...out };
}

/** Runs one command; its status, or undefined when it is not one the fake knows. */
async function command(
  name: string,
  args: string[],
  ctx: ExecContext,
  out: { stdout: string; stderr: string },
  stream: "stdout" | "stderr",
): Promise<number | undefined> {
  switch (name) {
    case "true":
      return 0;
    case "false":
      return 1;
    case "echo":
      out[stream] += `${args.join(" ")}\n`;
      return 0;
    case "cat":
      if (args.length === 0) {
        out[stream] += ctx.stdin.toString();
        return 0;
      }
      // The fake has no container filesystem.
      for (const f of args) out.stderr += `cat: can't open '${f}': No such file or directory\n`;
      return 1;
    case "sleep": {
      const seconds = Number(args[0]);
      if (args.length !== 1 || !Number.isFinite(seconds) || seconds < 0) {
        out.stderr += `sleep: invalid number '${args.join(" ")}'\n`;
        return 1;
      }
      return (await sleep(ctx, seconds * 1000)) ? 0 : 137;
    }
    default:
      return undefined;
  }
}

/** Waits on the context's clock; false when the exec is killed first (its timer is cleared). */
function sleep(ctx: ExecContext, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) return resolve(false);
    const onAbort = () => {
      ctx.clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = ctx.clock.setTimeout(() => {
      ctx.signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
}
