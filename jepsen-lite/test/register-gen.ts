/**
 * Generates concurrent register histories that are linearizable by construction: each op is
 * applied to a sequential model at a linearization point chosen between its invocation and its
 * completion, and its result is computed from the model at that point.
 */
import type { Op } from "../src/check/history.js";

/** One scheduler decision: which process acts, and two random numbers for what it does. */
export type Choice = [process: number, a: number, b: number];

interface Running {
  f: "read" | "write" | "cas";
  key: string;
  arg: unknown;
  /** Set at the linearization point. */
  result?: { type: "ok" | "fail"; value: unknown };
  /** Becomes an info op when completed (linearized or not). */
  crash: boolean;
}

export function generateHistory(choices: readonly Choice[], processes: number, keys: number): Op[] {
  const model = new Map<string, unknown>();
  const running = new Map<number, Running>();
  const ops: Op[] = [];
  let nextValue = 0;
  let nextProcess = processes;
  const procs = Array.from({ length: processes }, (_, i) => i);
  const emit = (process: number, type: Op["type"], r: Running, value: unknown) =>
    ops.push({ process, type, f: r.f, key: r.key, value, time: ops.length, index: ops.length });
  for (const [p, a, b] of choices) {
    const slot = p % procs.length;
    const process = procs[slot] as number;
    const r = running.get(process);
    if (r === undefined) {
      const key = `k${a % keys}`;
      const f = (["read", "write", "cas"] as const)[b % 3] as Running["f"];
      const arg =
        f === "read"
          ? null
          : f === "write"
            ? nextValue++
            : [b % 2 === 0 ? null : (b >> 1) % nextValue || 0, nextValue++];
      const op: Running = { f, key, arg, crash: a % 7 === 0 };
      running.set(process, op);
      emit(process, "invoke", op, arg);
    } else if (r.result === undefined && !(r.crash && a % 2 === 0)) {
      r.result = linearize(model, r);
    } else {
      // Complete: crashed ops become info whether or not they were linearized (applied).
      running.delete(process);
      if (r.crash) {
        emit(process, "info", r, r.arg);
        procs[slot] = nextProcess++; // Jepsen retires a process after an info op.
      } else {
        r.result ??= linearize(model, r);
        emit(process, r.result.type, r, r.f === "read" ? r.result.value : r.arg);
      }
    }
  }
  return ops;
}

function linearize(model: Map<string, unknown>, r: Running): { type: "ok" | "fail"; value: unknown } {
  const current = model.get(r.key) ?? null;
  if (r.f === "read") return { type: "ok", value: current };
  if (r.f === "write") {
    model.set(r.key, r.arg);
    return { type: "ok", value: r.arg };
  }
  const [expected, next] = r.arg as [unknown, unknown];
  if (current !== expected) return { type: "fail", value: r.arg };
  model.set(r.key, next);
  return { type: "ok", value: r.arg };
}
