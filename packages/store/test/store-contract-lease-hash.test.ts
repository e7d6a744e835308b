/**
 * Contract cases that need a store of their own, against a fresh real etcd 3.4 and a fresh
 * 3-member `skiff store`: HashKV (it hashes every key in the store) and lease expiry (parallel
 * timed trials), then `etcdctl endpoint hashkv` on both. Equal transcripts are required.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import t from "tap";
import { type ContractTarget, runContract, type TranscriptEntry } from "./store-contract.js";
import { contractHashKVCases } from "./store-contract-hashkv.js";
import { contractLeaseExpiryCases } from "./store-contract-lease-expiry.js";
import { EtcdTarget, etcdBin, readableDiff, SkiffTarget } from "./store-contract-targets.js";
import { etcdctlPath } from "./storeprocs.js";

const run = promisify(execFile);

interface EndpointHashKV {
  HashKV: { header: { revision: number }; hash: number };
}

/**
 * The HashKV cases, etcdctl's hashkv, then the lease cases: after those the hash differs between
 * any two runs, as the parallel trials' revokes land in either order.
 */
async function transcriptOf(target: ContractTarget): Promise<Map<string, TranscriptEntry[]>> {
  try {
    await target.start();
    const out = await runContract(target, contractHashKVCases);
    const etcdctl: TranscriptEntry[] = [];
    const hashkv = async (args: string[]) => {
      const argv = [`--endpoints=${target.endpoint()}`, "endpoint", "hashkv", "-w", "json", ...args];
      const step = `etcdctl endpoint hashkv ${args.join(" ")}`;
      try {
        const [first] = JSON.parse((await run(etcdctlPath, argv)).stdout) as EndpointHashKV[];
        const res = { hash: first?.HashKV.hash, revision: first?.HashKV.header.revision };
        etcdctl.push({ step, res });
        return res;
      } catch (e) {
        const lines = String((e as { stderr?: string }).stderr ?? e)
          .trim()
          .split("\n");
        etcdctl.push({ step, res: { error: lines[lines.length - 1] } });
        return undefined;
      }
    };
    const now = await hashkv([]);
    await hashkv(["--rev", String((now?.revision ?? 2) - 1)]);
    await hashkv(["--rev", "3"]);
    out.set("etcdctl endpoint hashkv", etcdctl);
    // Their keys are named apart from the HashKV case's, which share the first case's prefix.
    for (const [name, tr] of await runContract(target, contractLeaseExpiryCases)) out.set(name, tr);
    return out;
  } finally {
    await target.stop();
  }
}

if (!existsSync(etcdBin) || !existsSync(etcdctlPath)) {
  const reason = `etcd 3.4 or etcdctl not installed (${etcdBin}, ${etcdctlPath}): not checked`;
  if (process.env.CI === "true") t.fail(reason);
  else
    t.test(
      "etcd v3 contract (HashKV, lease expiry): skiff store vs etcd 3.4",
      { skip: reason },
      async () => {},
    );
} else {
  t.test("etcd v3 contract (HashKV, lease expiry): skiff store vs etcd 3.4", async (t) => {
    const etcd = await transcriptOf(new EtcdTarget());
    const skiff = await transcriptOf(new SkiffTarget());
    for (const [name, want] of etcd) {
      const got = skiff.get(name) ?? [];
      const diff = readableDiff(want, got);
      if (diff !== "") t.comment(`${name}\n${diff}`);
      t.same(got, want, name);
    }
  });
}
