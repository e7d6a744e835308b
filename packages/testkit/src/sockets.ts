/**
 * The TCP ports this process listens on: the LISTEN entries of /proc/net/tcp and tcp6 whose
 * socket is one of this process's file descriptors (other processes share the network namespace,
 * so the tables alone would name their ports too). Linux only.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

export function listeningPorts(): Set<number> {
  const mine = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) mine.add(m[1] as string);
    } catch {
      // The descriptor closed while we looked (readdir's own, among others).
    }
  }
  const out = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A" && mine.has(cols[9] ?? ""))
        out.add(Number.parseInt((cols[1] ?? "").split(":")[1] ?? "0", 16));
    }
  }
  return out;
}
