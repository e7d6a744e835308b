/**
 * Eviction thresholds (pkg/kubelet/eviction/api and helpers.go's ParseThresholdConfig): the
 * signals the kubelet observes, `--eviction-hard` parsing ("memory.available<100Mi,
 * nodefs.available<10%"), and kube's Linux defaults (pkg/kubelet/apis/config/v1beta1/
 * defaults_linux.go). Only hard thresholds: Skiff has no soft ones (no grace periods to wait).
 */
import { parseQuantity } from "@skiff/api";
import { formatBytes } from "../machine.js";

export type Signal =
  | "memory.available"
  | "allocatableMemory.available"
  | "nodefs.available"
  | "nodefs.inodesFree"
  | "imagefs.available"
  | "imagefs.inodesFree"
  | "pid.available";

const signals: ReadonlySet<string> = new Set<Signal>([
  "memory.available",
  "allocatableMemory.available",
  "nodefs.available",
  "nodefs.inodesFree",
  "imagefs.available",
  "imagefs.inodesFree",
  "pid.available",
]);

/** A hard threshold: the signal's available amount below quantity (or percentage of capacity). */
export interface Threshold {
  signal: Signal;
  operator: "LessThan";
  /** Exactly one of quantity (base units: bytes, inodes, pids) or percentage (0..1). */
  quantity?: number;
  /** The quantity as written, for messages ("100Mi"). */
  quantityText?: string;
  percentage?: number;
}

/** kube's DefaultEvictionHard on Linux. */
export const defaultEvictionHard: Readonly<Record<string, string>> = {
  "memory.available": "100Mi",
  "nodefs.available": "10%",
  "nodefs.inodesFree": "5%",
  "imagefs.available": "15%",
};

/**
 * Parses `--eviction-hard` (comma-separated `signal<value`) or a map of signal to value. As in
 * kube 1.32, a value given replaces the whole default set; a zero value ("0%", "0") disables
 * its signal.
 */
export function parseEvictionHard(spec: string | Readonly<Record<string, string>>): Threshold[] {
  const entries: [string, string, string][] = [];
  if (typeof spec === "string") {
    for (const part of spec.split(",").map((s) => s.trim())) {
      if (part === "") continue;
      const m = /^([^<>=]+)([<>=]+)(.*)$/.exec(part);
      if (m === null) throw new Error(`invalid eviction threshold syntax: ${part}, expected signal<value`);
      entries.push([(m[1] ?? "").trim(), m[2] ?? "", (m[3] ?? "").trim()]);
    }
  } else {
    for (const [k, v] of Object.entries(spec)) entries.push([k, "<", v]);
  }
  const out: Threshold[] = [];
  const seen = new Set<string>();
  for (const [signal, op, value] of entries) {
    if (!signals.has(signal)) throw new Error(`unsupported eviction signal ${signal}`);
    if (op !== "<") throw new Error(`invalid operator: ${op}`);
    if (seen.has(signal)) throw new Error(`found duplicate eviction threshold for signal ${signal}`);
    seen.add(signal);
    const t = parseThresholdValue(signal as Signal, value);
    if (t !== undefined) out.push(t);
  }
  return out;
}

function parseThresholdValue(signal: Signal, value: string): Threshold | undefined {
  if (value.endsWith("%")) {
    const p = Number(value.slice(0, -1));
    if (value.length === 1 || Number.isNaN(p)) throw new Error(`invalid eviction threshold value ${value}`);
    if (p < 0) throw new Error(`eviction percentage threshold ${signal} must be >= 0%: ${value}`);
    if (p > 100) throw new Error(`eviction percentage threshold ${signal} must be <= 100%: ${value}`);
    return p === 0 ? undefined : { signal, operator: "LessThan", percentage: p / 100 };
  }
  const q = parseQuantity(value);
  if (q < 0) throw new Error(`eviction threshold ${signal} must be positive: ${value}`);
  return q === 0 ? undefined : { signal, operator: "LessThan", quantity: q, quantityText: value };
}

/** evictionapi.GetThresholdQuantity: the threshold in base units against a capacity. */
export function thresholdQuantity(t: Threshold, capacity: number): number {
  if (t.quantity !== undefined) return t.quantity;
  return Math.trunc(capacity * (t.percentage ?? 0));
}

/** The threshold quantity as kube prints it in eviction messages. */
export function formatThresholdQuantity(t: Threshold, capacity: number): string {
  if (t.quantityText !== undefined) return t.quantityText;
  const q = thresholdQuantity(t, capacity);
  return isBytes(t.signal) ? formatBytes(q) : String(q);
}

export function isBytes(s: Signal): boolean {
  return s.endsWith(".available") && s !== "pid.available";
}

/** The resource a signal starves (signalToResource). */
export function signalResource(s: Signal): "memory" | "ephemeral-storage" | "inodes" | "pids" {
  if (s === "memory.available" || s === "allocatableMemory.available") return "memory";
  if (s === "pid.available") return "pids";
  return s.endsWith("inodesFree") ? "inodes" : "ephemeral-storage";
}

/** The node condition a signal raises (signalToNodeCondition). */
export function signalCondition(s: Signal): "MemoryPressure" | "DiskPressure" | "PIDPressure" {
  const r = signalResource(s);
  if (r === "memory") return "MemoryPressure";
  if (r === "pids") return "PIDPressure";
  return "DiskPressure";
}

/**
 * hardEvictionReservation (pkg/kubelet/cm/node_container_manager): what node allocatable keeps
 * back for the hard thresholds: memory.available from memory, nodefs.available from
 * ephemeral-storage.
 */
export function hardEvictionReservation(
  thresholds: readonly Threshold[],
  capacity: { memory: number; ephemeralStorage: number },
): { memory: number; ephemeralStorage: number } {
  let memory = 0;
  let ephemeralStorage = 0;
  for (const t of thresholds) {
    if (t.signal === "memory.available") memory += thresholdQuantity(t, capacity.memory);
    if (t.signal === "nodefs.available") ephemeralStorage += thresholdQuantity(t, capacity.ephemeralStorage);
  }
  return { memory, ephemeralStorage };
}
