/**
 * The etcd v3 contract suite (store-contract.ts) against a fresh real etcd 3.4 and a fresh
 * 3-member `skiff store`: the same cases in the same order must give the same transcripts,
 * absolute revisions included. Cases that need server flags (--max-txn-ops, a tiny quota) run as
 * a flagged suite: both targets started afresh with the same flags.
 */
import { existsSync, writeFileSync } from "node:fs";
import t from "tap";
import { contractCases } from "./store-contract.js";
import { contractFlaggedSuites } from "./store-contract-flags.js";
import { EtcdTarget, etcdBin, readableDiff, SkiffTarget, transcriptOf } from "./store-contract-targets.js";

if (!existsSync(etcdBin)) {
  const reason = `etcd 3.4 not installed (${etcdBin}): the contract against etcd is not checked`;
  if (process.env.CI === "true") t.fail(reason);
  else t.test("etcd v3 contract: skiff store vs etcd 3.4", { skip: reason }, async () => {});
} else {
  t.test("etcd v3 contract: skiff store vs etcd 3.4", async (t) => {
    // One target at a time: the machine is small, and each run starts from a fresh cluster.
    const etcd = await transcriptOf(new EtcdTarget(), contractCases);
    const skiff = await transcriptOf(new SkiffTarget(), contractCases);
    for (const suite of contractFlaggedSuites) {
      const label = `[${suite.flags.join(" ")}] `;
      const flaggedEtcd = await transcriptOf(new EtcdTarget(suite.flags), suite.cases);
      const flaggedSkiff = await transcriptOf(new SkiffTarget(suite.flags), suite.cases);
      for (const [name, tr] of flaggedEtcd) etcd.set(label + name, tr);
      for (const [name, tr] of flaggedSkiff) skiff.set(label + name, tr);
    }
    // STORE_CONTRACT_DUMP=file.json keeps both transcripts, to read what the cases saw.
    const dump = process.env.STORE_CONTRACT_DUMP;
    if (dump) writeFileSync(dump, JSON.stringify({ etcd: [...etcd], skiff: [...skiff] }, null, 1));
    for (const [name, want] of etcd) {
      const got = skiff.get(name) ?? [];
      const diff = readableDiff(want, got);
      if (diff !== "") t.comment(`${name}\n${diff}`);
      t.same(got, want, name);
    }
  });
}
