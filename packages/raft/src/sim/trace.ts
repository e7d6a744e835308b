/**
 * The simulator's trace: one line per event (`t=123 n2 send MsgApp->n3 term=4 ...`). The same seed
 * must give the same lines byte for byte, which the running hash makes cheap to compare.
 */

export type TraceMode = "off" | "tail" | "full";

/** FNV-1a over UTF-16 code units, two independent 32-bit lanes: a 64-bit fingerprint of the trace. */
export class TraceHash {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x5bd1e995;

  update(s: string): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
    }
    this.a = Math.imul(a ^ 10, 0x01000193); // the newline between lines
    this.b = Math.imul(b ^ 10, 0x01000193) ^ (b >>> 15);
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, "0") + (this.b >>> 0).toString(16).padStart(8, "0");
  }
}

export class Trace {
  /** Whether lines are recorded at all; callers test it before formatting (formatting is the cost). */
  readonly on: boolean;
  private readonly all: string[] = [];
  private readonly ring: string[];
  private ringNext = 0;
  private count = 0;
  private readonly hash = new TraceHash();

  constructor(
    readonly mode: TraceMode,
    private readonly tailSize = 50,
    private readonly now: () => number = () => 0,
  ) {
    this.on = mode !== "off";
    this.ring = new Array<string>(mode === "tail" ? tailSize : 0);
  }

  /** Records `t=<now> <text>`. */
  add(text: string): void {
    if (!this.on) return;
    const line = `t=${this.now()} ${text}`;
    this.count++;
    this.hash.update(line);
    if (this.mode === "full") this.all.push(line);
    else {
      this.ring[this.ringNext] = line;
      this.ringNext = (this.ringNext + 1) % this.tailSize;
    }
  }

  /** Number of lines recorded. */
  get length(): number {
    return this.count;
  }

  /** Every line (full mode) or the last `tailSize` lines (tail mode). */
  lines(): string[] {
    if (this.mode === "full") return this.all.slice();
    if (this.mode === "off") return [];
    const n = Math.min(this.count, this.tailSize);
    const out: string[] = [];
    for (let i = 0; i < n; i++)
      out.push(this.ring[(this.ringNext - n + i + this.tailSize) % this.tailSize] as string);
    return out;
  }

  /** The last n lines. */
  tail(n: number): string[] {
    const l = this.lines();
    return l.slice(Math.max(0, l.length - n));
  }

  /** Fingerprint of every line recorded so far (in any mode but "off"). */
  digest(): string {
    return this.hash.hex();
  }
}
