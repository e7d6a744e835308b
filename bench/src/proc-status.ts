/**
 * A process's memory from /proc/<pid>/status (proc(5)): VmRSS (resident now), VmHWM (the peak
 * resident set since the process started, the kernel's high-water mark), and the resident set
 * split into RssAnon (heap, stacks: what the process allocated) and RssFile (mapped files: the
 * binary, shared libraries, files read through mmap). The store benchmark's large phase reports
 * idle memory as anon + file, as the etcd figures were taken.
 */
import { readFileSync } from "node:fs";

/** Memory figures in MiB; NaN when the field is absent (an older kernel, a process gone). */
export interface ProcMemory {
  rssMiB: number;
  hwmMiB: number;
  anonMiB: number;
  fileMiB: number;
}

const fields = { rssMiB: "VmRSS", hwmMiB: "VmHWM", anonMiB: "RssAnon", fileMiB: "RssFile" } as const;

/** Parses the text of /proc/<pid>/status (values are in kB, which proc(5) means as KiB). */
export function parseProcStatus(text: string): ProcMemory {
  const kib = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line.trim());
    if (m !== null) kib.set(m[1] as string, Number(m[2]));
  }
  const out = {} as ProcMemory;
  for (const [key, name] of Object.entries(fields) as [keyof ProcMemory, string][])
    out[key] = (kib.get(name) ?? Number.NaN) / 1024;
  return out;
}

/** The memory of `pid` now; every figure NaN once the process is gone. */
export function procMemory(pid: number): ProcMemory {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return parseProcStatus("");
  }
}

/**
 * Samples `pid`'s resident set every `intervalMs` until stop(): the largest VmRSS seen, and the
 * last VmHWM read (the kernel's own peak, which also catches spikes between samples). The timer is
 * unref'd so a forgotten sampler never keeps the benchmark alive.
 */
export function sampleRss(pid: number, intervalMs = 100): { stop(): { maxRssMiB: number; hwmMiB: number } } {
  let maxRssMiB = Number.NaN;
  let hwmMiB = Number.NaN;
  const read = () => {
    const m = procMemory(pid);
    if (Number.isFinite(m.rssMiB))
      maxRssMiB = Number.isFinite(maxRssMiB) ? Math.max(maxRssMiB, m.rssMiB) : m.rssMiB;
    if (Number.isFinite(m.hwmMiB)) hwmMiB = m.hwmMiB;
  };
  read();
  const timer = setInterval(read, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      read();
      return { maxRssMiB, hwmMiB };
    },
  };
}
