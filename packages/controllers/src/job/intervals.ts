/**
 * Sets of completion indexes as sorted, disjoint, non-adjacent intervals (orderedIntervals of
 * pkg/controller/job/indexed_job_utils.go), written as status.completedIndexes spells them:
 * "1,3-5,7" (two adjacent indexes are "3,4", three or more a range).
 */

export interface Interval {
  first: number;
  last: number;
}

export class OrderedIntervals {
  constructor(readonly intervals: readonly Interval[] = []) {}

  /** parseIndexesFromString: indexes >= completions are dropped; a malformed part is skipped. */
  static parse(s: string | undefined, completions: number): OrderedIntervals {
    const out: Interval[] = [];
    if (s === undefined || s === "") return new OrderedIntervals(out);
    for (const part of s.split(",")) {
      const limits = part.split("-");
      const first = toInt(limits[0]);
      if (first === undefined) continue;
      if (first >= completions) break;
      let last = first;
      if (limits.length > 1) {
        const l = toInt(limits[1]);
        if (l === undefined) continue;
        last = Math.min(l, completions - 1);
      }
      const prev = out[out.length - 1];
      if (prev !== undefined && prev.last === first - 1) prev.last = last;
      else out.push({ first, last });
    }
    return new OrderedIntervals(out);
  }

  get length(): number {
    return this.intervals.length;
  }

  /** total: how many indexes. */
  total(): number {
    let n = 0;
    for (const iv of this.intervals) n += iv.last - iv.first + 1;
    return n;
  }

  /** has: binary search for the interval ending at or after ix. */
  has(ix: number): boolean {
    let lo = 0;
    let hi = this.intervals.length;
    while (hi > lo) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if ((this.intervals[mid] as Interval).last >= ix) hi = mid;
      else lo = mid + 1;
    }
    return hi < this.intervals.length && (this.intervals[hi] as Interval).first <= ix;
  }

  /** withOrderedIndexes: these indexes (in increasing order) added. */
  withOrderedIndexes(indexes: readonly number[]): OrderedIntervals {
    return this.merge(new OrderedIntervals(indexes.map((i) => ({ first: i, last: i }))));
  }

  /** merge: the union, adjacent intervals joined. */
  merge(other: OrderedIntervals): OrderedIntervals {
    const out: Interval[] = [];
    const push = (iv: Interval) => {
      const last = out[out.length - 1];
      if (last === undefined || iv.first > last.last + 1) out.push({ ...iv });
      else if (last.last < iv.last) last.last = iv.last;
    };
    const a = this.intervals;
    const b = other.intervals;
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      if ((a[i] as Interval).first < (b[j] as Interval).first) push(a[i++] as Interval);
      else push(b[j++] as Interval);
    }
    while (i < a.length) push(a[i++] as Interval);
    while (j < b.length) push(b[j++] as Interval);
    return new OrderedIntervals(out);
  }

  toString(): string {
    return this.intervals
      .map((v) =>
        v.last === v.first
          ? `${v.first}`
          : v.last === v.first + 1
            ? `${v.first},${v.last}`
            : `${v.first}-${v.last}`,
      )
      .join(",");
  }
}

function toInt(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return undefined;
  return Number.parseInt(s, 10);
}
