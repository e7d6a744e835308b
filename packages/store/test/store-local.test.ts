/**
 * A one-member store with an empty --listen-peer-urls (the API server's embedded store): no peer
 * transport at all, so the member opens no socket; it elects itself, serves its etcd API in
 * process, keeps its data across a restart, and keeps its data directory 0700.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningPorts } from "@skiff/testkit";
import t from "tap";
import { parseStoreFlags, Store } from "../src/index.js";

const rangeOf = (key: string) => ({
  key: Buffer.from(key),
  range_end: Buffer.alloc(0),
  ...{ limit: "0", revision: "0", sort_order: 0, sort_target: 0 },
  ...{ serializable: false, keys_only: false, count_only: false },
  ...{ min_mod_revision: "0", max_mod_revision: "0", min_create_revision: "0", max_create_revision: "0" },
});

t.test("no --listen-peer-urls: no socket, elected, durable, private", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-store-local-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const flags = parseStoreFlags([
    ...["--name", "e", "--data-dir", join(dir, "e"), "--log-level", "error"],
    ...["--listen-client-urls", "", "--advertise-client-urls", "", "--listen-peer-urls", ""],
    ...["--initial-advertise-peer-urls", "http://127.0.0.1:0"],
    ...["--heartbeat-interval", "50", "--election-timeout", "250"],
  ]);
  t.same(flags.listenPeerUrls, []);
  const before = listeningPorts();
  const first = new Store(flags);
  await first.start();
  await first.ready;
  t.same(
    [...listeningPorts()].filter((p) => !before.has(p)),
    [],
    "no listening socket",
  );
  await first.etcd.put({
    ...{ key: Buffer.from("k"), value: Buffer.from("v"), lease: "0" },
    ...{ prev_kv: false, ignore_value: false, ignore_lease: false },
  });
  await first.stop();
  t.equal(statSync(join(dir, "e")).mode & 0o777, 0o700, "data dir 0700");
  t.equal(statSync(join(dir, "e", "member")).mode & 0o777, 0o700, "member dir 0700");

  const second = new Store(flags);
  t.teardown(() => second.stop());
  await second.start();
  await second.ready;
  const got = await second.etcd.range(rangeOf("k"));
  t.equal(got.kvs?.[0]?.value?.toString(), "v", "the write survived a restart");
});
