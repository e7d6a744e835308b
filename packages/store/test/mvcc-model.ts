/**
 * An obviously-correct reference for the MVCC store: a full copy of the key space per revision
 * (states[rev]) and a flat event list. No generations, no compaction of data (compaction only
 * moves the floor below which reads fail), so what it answers follows directly from etcd's rules.
 */

export interface MKv {
  key: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: string;
  lease: number;
}

export type MOp =
  | { op: "put"; key: string; value: string; lease: number; prev_kv: boolean; ignore_value: boolean }
  | { op: "del"; key: string; end?: string; prev_kv: boolean }
  | {
      op: "range";
      key: string;
      end?: string;
      revision: number;
      limit: number;
      sort_order: "NONE" | "ASCEND" | "DESCEND";
      sort_target: "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";
      keys_only: boolean;
      count_only: boolean;
      min_mod_revision: number;
      max_create_revision: number;
    }
  | {
      op: "txn";
      compare: {
        key: string;
        end?: string;
        target: "VERSION" | "CREATE" | "MOD" | "VALUE";
        result: string;
        n: number;
      };
      success: MOp[];
      failure: MOp[];
    }
  | { op: "compact"; revision: number }
  | { op: "revoke"; lease: number }
  | { op: "leaseKeys"; lease: number }
  | { op: "events"; revision: number; key: string; end?: string };

export interface MEvent {
  type: "PUT" | "DELETE";
  kv: MKv;
  prev_kv?: MKv;
}

const FROM_KEY = "\0";
const inRange = (k: string, key: string, end?: string) =>
  end === undefined ? k === key : end === FROM_KEY ? k >= key : k >= key && k < end;

export class Model {
  states: Map<string, MKv>[] = [new Map(), new Map()];
  events: MEvent[] = [];
  compacted = -1;
  get rev(): number {
    return this.states.length - 1;
  }

  /** Runs one operation; the result is the plain response or { error: message }. */
  apply(o: MOp): unknown {
    try {
      return this.run(o);
    } catch (e) {
      return { error: (e as Error).message };
    }
  }

  private run(o: MOp): unknown {
    const cur = this.rev;
    if (o.op === "range") return this.range(o, cur, this.states[cur] as Map<string, MKv>);
    if (o.op === "compact") {
      if (o.revision <= this.compacted) throw new Error("mvcc: required revision has been compacted");
      if (o.revision > cur) throw new Error("mvcc: required revision is a future revision");
      this.compacted = o.revision;
      return { header: { revision: cur } };
    }
    if (o.op === "events") {
      if (o.revision < this.compacted) throw new Error("mvcc: required revision has been compacted");
      // Revision 0 means "from now" (a watch without start_revision): no history.
      if (o.revision <= 0) return [];
      return this.events.filter((e) => e.kv.mod_revision >= o.revision && inRange(e.kv.key, o.key, o.end));
    }
    if (o.op === "leaseKeys") {
      const st = this.states[cur] as Map<string, MKv>;
      return [...st.values()]
        .filter((kv) => kv.lease === o.lease)
        .map((kv) => kv.key)
        .sort();
    }
    const w = new Work(this, new Map(this.states[cur]));
    let resp: unknown;
    if (o.op === "revoke") {
      const st = this.states[cur] as Map<string, MKv>;
      const keys = [...st.values()]
        .filter((kv) => kv.lease === o.lease)
        .map((kv) => kv.key)
        .sort();
      for (const k of keys) w.op({ op: "del", key: k, prev_kv: false });
      resp = { revision: w.rev, deleted: keys.length };
    } else if (o.op === "txn") {
      const st = this.states[cur] as Map<string, MKv>;
      // etcd checks both branches for duplicates before it evaluates any compare.
      checkDuplicates(o.success);
      checkDuplicates(o.failure);
      const ok = compare(st, o.compare);
      const ops = ok ? o.success : o.failure;
      for (const x of ops) {
        if (x.op === "put" && x.ignore_value && !st.has(x.key)) throw new Error("etcdserver: key not found");
      }
      for (const x of ops) {
        if (x.op === "range" && x.revision !== 0) {
          if (x.revision > cur) throw new Error("mvcc: required revision is a future revision");
          if (x.revision < this.compacted) throw new Error("mvcc: required revision has been compacted");
        }
      }
      const responses = ops.map((x) => w.op(x));
      resp = { header: { revision: w.rev }, succeeded: ok, responses };
    } else resp = w.op(o);
    if (w.events.length > 0) {
      this.states.push(w.data);
      this.events.push(...w.events);
    }
    return resp;
  }

  range(o: Extract<MOp, { op: "range" }>, cur: number, view: Map<string, MKv>): unknown {
    let rev = o.revision;
    if (rev > cur) throw new Error("mvcc: required revision is a future revision");
    if (rev <= 0) rev = cur;
    if (rev < this.compacted) throw new Error("mvcc: required revision has been compacted");
    const st = rev === cur ? view : (this.states[rev] as Map<string, MKv>);
    const all = [...st.values()].filter((kv) => inRange(kv.key, o.key, o.end));
    all.sort((a, b) => (a.key < b.key ? -1 : 1));
    let kvs = o.count_only ? [] : all;
    if (o.min_mod_revision) kvs = kvs.filter((kv) => kv.mod_revision >= o.min_mod_revision);
    if (o.max_create_revision) kvs = kvs.filter((kv) => kv.create_revision <= o.max_create_revision);
    const order = o.sort_target !== "KEY" && o.sort_order === "NONE" ? "ASCEND" : o.sort_order;
    const field = (kv: MKv): number | string =>
      ({
        KEY: kv.key,
        VERSION: kv.version,
        CREATE: kv.create_revision,
        MOD: kv.mod_revision,
        VALUE: kv.value,
      })[o.sort_target];
    const cmp = (a: MKv, b: MKv) => (field(a) < field(b) ? -1 : field(a) > field(b) ? 1 : 0);
    if (order === "ASCEND") kvs = [...kvs].sort(cmp);
    if (order === "DESCEND") kvs = [...kvs].sort((a, b) => cmp(b, a));
    const more = o.limit > 0 && kvs.length > o.limit;
    if (more) kvs = kvs.slice(0, o.limit);
    if (o.keys_only) kvs = kvs.map((kv) => ({ ...kv, value: "" }));
    return { header: { revision: cur }, kvs, more, count: all.length };
  }
}

/** One write txn of the model: a working copy of the newest state. */
class Work {
  events: MEvent[] = [];
  constructor(
    private readonly m: Model,
    readonly data: Map<string, MKv>,
  ) {}
  get rev(): number {
    return this.events.length > 0 ? this.m.rev + 1 : this.m.rev;
  }

  op(o: MOp): unknown {
    const next = this.m.rev + 1;
    if (o.op === "range") return { response_range: this.m.range(o, this.rev, this.data) };
    if (o.op === "put") {
      const prev = this.data.get(o.key);
      if (o.ignore_value && !prev) throw new Error("etcdserver: key not found");
      const kv: MKv = {
        key: o.key,
        create_revision: prev ? prev.create_revision : next,
        mod_revision: next,
        version: prev ? prev.version + 1 : 1,
        value: o.ignore_value && prev ? prev.value : o.value,
        lease: o.lease,
      };
      this.data.set(o.key, kv);
      this.events.push(prev ? { type: "PUT", kv, prev_kv: prev } : { type: "PUT", kv });
      return {
        response_put: { header: { revision: next }, ...(o.prev_kv && prev ? { prev_kv: prev } : {}) },
      };
    }
    if (o.op === "del") {
      const victims = [...this.data.values()]
        .filter((kv) => inRange(kv.key, o.key, o.end))
        .sort((a, b) => (a.key < b.key ? -1 : 1));
      for (const prev of victims) {
        this.data.delete(prev.key);
        const kv = { key: prev.key, create_revision: 0, mod_revision: next, version: 0, value: "", lease: 0 };
        this.events.push({ type: "DELETE", kv, prev_kv: prev });
      }
      const prev_kvs = o.prev_kv ? victims : [];
      return { response_delete_range: { header: { revision: this.rev }, deleted: victims.length, prev_kvs } };
    }
    throw new Error(`model: ${o.op} is not a txn op`);
  }
}

function compare(st: Map<string, MKv>, c: Extract<MOp, { op: "txn" }>["compare"]): boolean {
  const kvs = [...st.values()].filter((kv) => inRange(kv.key, c.key, c.end));
  if (kvs.length === 0 && c.target === "VALUE") return false;
  const zero: MKv = { key: c.key, create_revision: 0, mod_revision: 0, version: 0, value: "", lease: 0 };
  return (kvs.length === 0 ? [zero] : kvs).every((kv) => {
    const [a, b] =
      c.target === "VALUE"
        ? [kv.value, String(c.n)]
        : [{ VERSION: kv.version, CREATE: kv.create_revision, MOD: kv.mod_revision }[c.target], c.n];
    const r = a < b ? -1 : a > b ? 1 : 0;
    return { EQUAL: r === 0, NOT_EQUAL: r !== 0, LESS: r < 0, GREATER: r > 0 }[c.result] ?? false;
  });
}

/** No key may be put twice or be both put and deleted in one txn branch (single level here). */
function checkDuplicates(ops: MOp[]): void {
  const puts = new Set<string>();
  for (const o of ops) {
    if (o.op !== "put") continue;
    const deleted = ops.some((d) => d.op === "del" && d.end !== FROM_KEY && inRange(o.key, d.key, d.end));
    if (puts.has(o.key) || deleted) throw new Error("etcdserver: duplicate key given in txn request");
    puts.add(o.key);
  }
}
