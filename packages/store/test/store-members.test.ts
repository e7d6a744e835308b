/**
 * Membership rules kept beside the Raft state: removed member ids survive a snapshot (old snapshots
 * without them still load), and a learner is promoted only once in sync (etcd's isLearnerReady).
 */
import t from "tap";
import { decodeSnapshotData, encodeSnapshotData } from "../src/raftnode/snapshotdata.js";
import { isLearnerReady } from "../src/server/learner.js";

t.test("snapshot extras carry removed member ids; the older layout still decodes", async (t) => {
  const app = new Uint8Array([1, 2, 3]);
  const peers = new Map([[7, "http://127.0.0.1:1"]]);
  const got = decodeSnapshotData(encodeSnapshotData({ peers, requests: [[5n, 9]], removed: [3, 4] }, app));
  t.same([...got.peers], [[7, "http://127.0.0.1:1"]]);
  t.same(got.requests, [[5n, 9]]);
  t.same(got.removed, [3, 4]);
  t.same([...got.app], [1, 2, 3]);

  // Before removed ids were kept the JSON was the peers array alone.
  const json = new TextEncoder().encode(JSON.stringify([[7, "http://127.0.0.1:1"]]));
  const old = new Uint8Array(4 + json.length + 4 + app.length);
  new DataView(old.buffer).setUint32(0, json.length);
  old.set(json, 4);
  old.set(app, 4 + json.length + 4);
  const legacy = decodeSnapshotData(old);
  t.same([...legacy.peers], [[7, "http://127.0.0.1:1"]]);
  t.same(legacy.removed, []);
  t.same([...legacy.app], [1, 2, 3]);
});

t.test("a learner is ready at 90% of the leader's match index", async (t) => {
  const node = (match: [number, number][] | undefined) => ({
    id: 1,
    matchIndexes: () => (match === undefined ? undefined : new Map(match)),
  });
  t.equal(isLearnerReady(node(undefined), 2), "NotLeader", "off the leader");
  t.equal(
    isLearnerReady(
      node([
        [1, 100],
        [2, 0],
      ]),
      2,
    ),
    "LearnerNotReady",
    "never started",
  );
  t.equal(
    isLearnerReady(
      node([
        [1, 100],
        [2, 89],
      ]),
      2,
    ),
    "LearnerNotReady",
    "89%",
  );
  t.equal(
    isLearnerReady(
      node([
        [1, 100],
        [2, 90],
      ]),
      2,
    ),
    undefined,
    "90%",
  );
  t.equal(isLearnerReady(node([[1, 100]]), 3), undefined, "no progress: left to the membership checks");
});
