import { assert } from "./errors.js";

/**
 * A bounded window of in-flight MsgApp messages to one follower (etcd's Inflights): each slot
 * holds the last index the message carried. A full window pauses replication to that follower,
 * which bounds the memory and bandwidth a slow follower can cost.
 */
export class Inflights {
  private start = 0;
  private count = 0;
  private readonly buffer: number[];

  constructor(readonly size: number) {
    assert(size > 0, "inflights size must be positive");
    this.buffer = new Array<number>(size).fill(0);
  }

  add(inflight: number): void {
    assert(!this.full(), "cannot add into a full inflights");
    let next = this.start + this.count;
    if (next >= this.size) next -= this.size;
    this.buffer[next] = inflight;
    this.count++;
  }

  /** Frees every in-flight message whose last index is <= to (the follower acknowledged it). */
  freeLE(to: number): void {
    if (this.count === 0 || to < (this.buffer[this.start] as number)) return;
    let idx = this.start;
    let i = 0;
    for (; i < this.count; i++) {
      if (to < (this.buffer[idx] as number)) break;
      idx++;
      if (idx >= this.size) idx -= this.size;
    }
    this.count -= i;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  /** Frees the oldest in-flight message (its acknowledgement was probably lost). */
  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.buffer[this.start] as number);
  }

  full(): boolean {
    return this.count === this.size;
  }

  get length(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
    this.start = 0;
  }
}
