import { closeEtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";

const [endpoint, nStr, conc] = process.argv.slice(2);
const n = Number(nStr);
const c = etcdClients(endpoint);
const value = Buffer.alloc(1024, 120);
let next = 0,
  worst = 0;
const t0 = Date.now();
async function worker() {
  while (next < n) {
    const i = next++;
    const s = Date.now();
    await unaryCall(
      c.KV,
      "Put",
      { key: Buffer.from(`/registry/k/${String(i).padStart(8, "0")}`), value },
      60000,
    );
    worst = Math.max(worst, Date.now() - s);
  }
}
await Promise.all(Array.from({ length: Number(conc) }, worker));
console.log(JSON.stringify({ n, seconds: (Date.now() - t0) / 1000, worstMs: worst }));
closeEtcdClients(c);
