/** fast-check arbitraries of model operations (mvcc-model.ts), shared by the MVCC and store tests. */
import fc from "fast-check";

export function opArbitraries(lease: fc.Arbitrary<number>) {
  const key = fc.constantFrom("a", "b", "c", "d", "e");
  const end = fc.option(fc.constantFrom("b", "c", "e", "f", "\0"), { nil: undefined });
  const value = fc.constantFrom("0", "1", "2", "3");
  const rev = fc.nat(40);

  const putOp = fc.record({
    op: fc.constant("put" as const),
    key,
    value,
    lease,
    prev_kv: fc.boolean(),
    ignore_value: fc.boolean(),
  });
  const delOp = fc.record({ op: fc.constant("del" as const), key, end, prev_kv: fc.boolean() });
  const rangeOp = fc.record({
    op: fc.constant("range" as const),
    key,
    end,
    revision: rev,
    limit: fc.nat(4),
    sort_order: fc.constantFrom("NONE" as const, "ASCEND" as const, "DESCEND" as const),
    sort_target: fc.constantFrom(
      "KEY" as const,
      "VERSION" as const,
      "CREATE" as const,
      "MOD" as const,
      "VALUE" as const,
    ),
    keys_only: fc.boolean(),
    count_only: fc.boolean(),
    min_mod_revision: fc.nat(8),
    max_create_revision: fc.nat(12),
  });
  const txnOp = fc.record({
    op: fc.constant("txn" as const),
    compare: fc.record({
      key,
      end: fc.option(fc.constantFrom("c", "f"), { nil: undefined }),
      target: fc.constantFrom("VERSION" as const, "CREATE" as const, "MOD" as const, "VALUE" as const),
      result: fc.constantFrom("EQUAL", "NOT_EQUAL", "LESS", "GREATER"),
      n: fc.nat(4),
    }),
    success: fc.array(fc.oneof(putOp, delOp, rangeOp), { maxLength: 4 }),
    failure: fc.array(fc.oneof(putOp, delOp, rangeOp), { maxLength: 3 }),
  });
  return { key, end, value, rev, putOp, delOp, rangeOp, txnOp };
}
