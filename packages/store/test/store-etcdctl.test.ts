import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { etcdctlPath, haveEtcdctl, StoreCluster } from "./storeprocs.js";

// The real etcdctl 3.4 against a 3-member `skiff store` cluster of separate processes.

if (!haveEtcdctl) {
  if (process.env.CI === "true") t.fail("etcdctl is missing in CI (the set-up installs etcd-client)");
  else t.skip(`etcdctl not installed at ${etcdctlPath}: run node scripts/setup.mjs as root`);
} else {
  t.test("etcdctl end to end against a 3-member skiff store cluster", async (t) => {
    const c = new StoreCluster(["--heartbeat-interval", "50", "--election-timeout", "500"]);
    t.teardown(() => c.close());
    await c.start();

    const put = await c.etcdctl(["put", "foo", "bar"]);
    t.equal(put.stdout.trim(), "OK", `put: ${put.stderr}`);
    const got = JSON.parse((await c.etcdctl(["get", "foo", "-w", "json"])).stdout);
    t.equal(got.header.revision, 2, "a fresh store's first write is revision 2, as etcd's");
    t.equal(Buffer.from(got.kvs[0].value, "base64").toString(), "bar");
    t.equal(got.kvs[0].version, 1);

    for (const k of ["p/a", "p/b", "p/c", "q"]) await c.etcdctl(["put", k, `v-${k}`]);
    t.equal(
      (await c.etcdctl(["get", "p/", "--prefix", "--keys-only"])).stdout
        .split("\n")
        .filter(Boolean)
        .join(","),
      "p/a,p/b,p/c",
    );
    t.equal(
      (await c.etcdctl(["get", "p/", "--prefix", "--limit=2"])).stdout.split("\n").filter(Boolean).length,
      4,
      "limit 2: two keys and values",
    );
    const counted = JSON.parse(
      (await c.etcdctl(["get", "p/", "--prefix", "--limit=1", "-w", "json"])).stdout,
    );
    t.same([counted.count, counted.more, counted.kvs.length], [3, true, 1], "limit 1: count and more");
    t.equal(
      (await c.etcdctl(["get", "p/", "--prefix", "--keys-only", "--order=DESCEND", "--sort-by=KEY"])).stdout
        .split("\n")
        .filter(Boolean)
        .join(","),
      "p/c,p/b,p/a",
      "sorted descending",
    );
    t.equal(
      (await c.etcdctl(["get", "p/b", "--from-key", "--keys-only"])).stdout
        .split("\n")
        .filter(Boolean)
        .join(","),
      "p/b,p/c,q",
    );
    t.match((await c.etcdctl(["get", "foo", "--rev=1"])).stdout, /^$/, "nothing at revision 1");
    t.match((await c.etcdctl(["get", "foo", "--consistency=s"])).stdout, /foo\nbar/, "serializable read");

    const txn = await c.etcdctl(["txn"], {
      input: 'value("foo") = "bar"\n\nput foo baz\n\nput foo nope\n\n',
    });
    t.match(txn.stdout, /^SUCCESS\n\nOK/, "txn took the success branch");
    t.match((await c.etcdctl(["get", "foo", "--print-value-only"])).stdout, /^baz/);
    t.match((await c.etcdctl(["del", "p/", "--prefix"])).stdout, /^3/, "deleted 3 keys");

    // Watch: history from revision 1, then a live event.
    const watcher = spawn(etcdctlPath, [`--endpoints=${c.endpoints()}`, "watch", "foo", "--rev=1"], {
      env: { ...process.env, ETCDCTL_API: "3" },
    });
    const lines: string[] = [];
    createInterface({ input: watcher.stdout }).on("line", (l) => lines.push(l));
    // On timeout the comparison below shows what arrived.
    const waitLines = (n: number) =>
      waitFor(() => lines.length >= n, { what: `${n} lines from etcdctl watch` }).catch(() => undefined);
    await waitLines(6);
    await c.etcdctl(["put", "foo", "live"]);
    await waitLines(9);
    watcher.kill("SIGTERM");
    t.same(
      lines.slice(0, 9),
      ["PUT", "foo", "bar", "PUT", "foo", "baz", "PUT", "foo", "live"],
      "history, then live",
    );

    // Leases.
    const grant = (await c.etcdctl(["lease", "grant", "30"])).stdout;
    const leaseId = /lease ([0-9a-f]+) granted with TTL\(30s\)/.exec(grant)?.[1];
    t.ok(leaseId, `lease granted: ${grant}`);
    await c.etcdctl(["put", "--lease", leaseId as string, "leased", "x"]);
    t.match(
      (await c.etcdctl(["lease", "timetolive", leaseId as string, "--keys"])).stdout,
      /granted with TTL\(30s\), remaining\(\d+s\), attached keys\(\[leased\]\)/,
    );
    t.match(
      (await c.etcdctl(["lease", "keep-alive", "--once", leaseId as string])).stdout,
      /keepalived with TTL\(30\)/,
    );
    t.match((await c.etcdctl(["lease", "list"])).stdout, new RegExp(leaseId as string));
    t.match((await c.etcdctl(["lease", "revoke", leaseId as string])).stdout, /revoked/);
    t.equal((await c.etcdctl(["get", "leased"])).stdout, "", "the lease's key went with it");

    // Lock and election (client-side recipes over KV, Lease and Watch).
    const lock = await c.etcdctl(["lock", "mylock", "echo", "locked"]);
    t.equal(lock.stdout, "locked\n", `the command ran holding the lock (${lock.stderr})`);
    const elect = spawn(etcdctlPath, [`--endpoints=${c.endpoints()}`, "elect", "myelection", "p1"], {
      env: { ...process.env, ETCDCTL_API: "3" },
    });
    const electOut: string[] = [];
    createInterface({ input: elect.stdout }).on("line", (l) => electOut.push(l));
    await waitFor(() => electOut.length >= 2, { what: "etcdctl elect to print" }).catch(() => undefined);
    elect.kill("SIGTERM");
    t.match(electOut.join("\n"), /myelection\/[0-9a-f]+\np1/, "elected");

    // Compaction, members, status, health, and a too-large request.
    const rev = JSON.parse((await c.etcdctl(["get", "foo", "-w", "json"])).stdout).header.revision as number;
    t.match(
      (await c.etcdctl(["compaction", String(rev - 1)])).stdout,
      new RegExp(`compacted revision ${rev - 1}`),
    );
    t.match(
      (await c.etcdctl(["get", "foo", "--rev=2"])).stderr,
      /etcdserver: mvcc: required revision has been compacted/,
    );
    const members = (await c.etcdctl(["member", "list"])).stdout.split("\n").filter(Boolean);
    t.equal(members.length, 3);
    for (const m of c.members)
      t.ok(
        members.some((l) => l.includes(`, started, ${m.name}, ${m.peerUrl}, ${m.clientUrl}, false`)),
        `member ${m.name}`,
      );
    const status = JSON.parse((await c.etcdctl(["endpoint", "status", "-w", "json"])).stdout) as {
      Status: { leader: number; version: string };
    }[];
    t.equal(status.length, 3);
    t.equal(new Set(status.map((s) => s.Status.leader)).size, 1, "every member names the same leader");
    t.equal(status[0]?.Status.version, "3.4.23");
    const health = await c.etcdctl(["endpoint", "health"]);
    t.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 3, "every endpoint is healthy");
    const big = await c.etcdctl(["put", "big"], { input: "x".repeat(1.6 * 1024 * 1024) });
    t.match(big.stderr, /etcdserver: request is too large/, "a request over --max-request-bytes");
  });
}
