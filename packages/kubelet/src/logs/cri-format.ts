/**
 * The CRI log format (kuberuntime's parseCRILog): `<RFC3339Nano> <stdout|stderr> <tag> <text>\n`
 * where the tag's first ':'-separated part is F (a full line) or P (a fragment that continues in
 * the stream's next entry). Timestamps are kept as nanoseconds since the epoch in a bigint so
 * sinceTime compares at the precision the file has.
 */

export type LogStream = "stdout" | "stderr";

export interface CriLogEntry {
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  stream: LogStream;
  partial: boolean;
  /** The text, without the trailing newline. */
  content: Buffer;
}

const SPACE = 0x20;

/** Parses one line (its trailing "\n" optional); undefined when it is not in the CRI format. */
export function parseCriLine(line: Buffer): CriLogEntry | undefined {
  const end = line.length > 0 && line[line.length - 1] === 0x0a ? line.length - 1 : line.length;
  const s1 = line.indexOf(SPACE);
  if (s1 <= 0 || s1 >= end) return undefined;
  const s2 = line.indexOf(SPACE, s1 + 1);
  if (s2 < 0 || s2 >= end) return undefined;
  let s3 = line.indexOf(SPACE, s2 + 1);
  if (s3 < 0 || s3 > end) s3 = end; // an empty F line may be written without the last space
  const timeNs = parseRFC3339Nano(line.toString("latin1", 0, s1));
  const stream = line.toString("latin1", s1 + 1, s2);
  const tag = line.toString("latin1", s2 + 1, s3).split(":")[0];
  if (timeNs === undefined || (stream !== "stdout" && stream !== "stderr") || (tag !== "P" && tag !== "F")) {
    return undefined;
  }
  return { timeNs, stream, partial: tag === "P", content: line.subarray(Math.min(s3 + 1, end), end) };
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 with up to nine fractional digits, to nanoseconds since the epoch. */
export function parseRFC3339Nano(s: string): bigint | undefined {
  const m = rfc3339.exec(s);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  if (Number.isNaN(ms)) return undefined;
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return BigInt(ms) * 1_000_000n + BigInt((frac ?? "").padEnd(9, "0"));
}

/** kube's RFC3339NanoFixed output ("2006-01-02T15:04:05.000000000Z07:00"), in UTC. */
export function formatRFC3339NanoFixed(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const seconds = new Date(Number(ms)).toISOString().slice(0, 19);
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  return `${seconds}.${frac.toString().padStart(9, "0")}Z`;
}

/** One CRI log line as the runtime's logger writes it (for tests and tools). */
export function formatCriLine(timeNs: bigint, stream: LogStream, partial: boolean, text: string): string {
  return `${formatRFC3339NanoFixed(timeNs)} ${stream} ${partial ? "P" : "F"} ${text}\n`;
}
