/**
 * ControllerRevision helpers (kube's pkg/controller/history): hashing and naming, equality and
 * ordering, truncation, and the History writes on a fake client (collisions, renumbering,
 * adoption and release).
 */
import type { KubeObject } from "@skiff/api";
import { ApiError, FakeClient, Indexer, Lister, toSelector } from "@skiff/client";
import t from "tap";
import {
  CONTROLLER_REVISION_HASH_LABEL,
  controllerRevisionName,
  equalRevision,
  findEqualRevisions,
  History,
  hashControllerRevisionData,
  newControllerRevision,
  nextRevision,
  revisionsToTruncate,
  sortControllerRevisions,
} from "../../src/history/controller-history.js";
import type { ControllerRevision } from "../../src/history/types.js";
import { canonicalJson, computeHash, fnv32, fnv32a, safeEncodeString } from "../../src/util/hash.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const GVK = { apiVersion: "apps/v1", kind: "StatefulSet" };
const parent: KubeObject = {
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "web", namespace: "ns", uid: "uid-web" },
};
const data = (image: string) => ({
  spec: { template: { spec: { containers: [{ name: "c", image }] }, $patch: "replace" } },
});

function revision(
  name: string,
  rev: number,
  d: unknown,
  extra: Partial<ControllerRevision["metadata"]> = {},
): ControllerRevision {
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: { name, namespace: "ns", labels: { app: "web" }, ...extra },
    data: d,
    revision: rev,
  };
}

t.test("FNV-32 and FNV-32a as hash/fnv computes them; SafeEncodeString's alphabet", async (t) => {
  t.equal(fnv32(utf8("")), 0x811c9dc5);
  t.equal(fnv32(utf8("a")), 0x050c5d7e);
  t.equal(fnv32a(utf8("a")), 0xe40c292c);
  t.equal(fnv32a(utf8("foobar")), 0xbf9cf968);
  t.equal(safeEncodeString("0123456789"), "456789bcdf", "digits map to 4..9, b, c, d, f");
  t.match(safeEncodeString(String(fnv32(utf8("x")))), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
});

t.test("canonical JSON: Go's map encoding, keys sorted at every level, HTML escapes", async (t) => {
  t.equal(
    canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: "<&>" } }),
    '{"a":{"c":"\\u003c\\u0026\\u003e","d":[{"y":2,"z":1}]},"b":1}',
  );
  t.equal(
    canonicalJson({ a: undefined, b: null, c: {}, d: [], e: { f: {} }, g: 0, h: "" }),
    '{"g":0,"h":""}',
    "as omitempty",
  );
  t.equal(canonicalJson([{}, 1]), "[{},1]", "array elements stay");
});

t.test(
  "computeHash: equal templates hash equal whatever the key order; the collision count changes it",
  async (t) => {
    const a = { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "c", image: "i" }] } };
    const b = { spec: { containers: [{ image: "i", name: "c" }] }, metadata: { labels: { app: "x" } } };
    t.equal(computeHash(a), computeHash(b));
    t.not(computeHash(a), computeHash(a, 0), "a collision count (even 0) is hashed in");
    t.not(computeHash(a, 0), computeHash(a, 1));
    t.not(computeHash(a), computeHash({ ...a, spec: { containers: [{ name: "c", image: "j" }] } }));
    t.not(hashControllerRevisionData(data("a"), 0), hashControllerRevisionData(data("a"), 1));
  },
);

t.test("names: <owner>-<hash>, the owner cut to 223 characters", async (t) => {
  t.equal(controllerRevisionName("web", "abc"), "web-abc");
  const long = "x".repeat(300);
  t.equal(controllerRevisionName(long, "abc").length, 223 + 4);
  const cr = newControllerRevision(parent, GVK, { app: "web" }, data("a"), 3, 0);
  const hash = cr.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] as string;
  t.equal(cr.metadata.name, `web-${hash}`);
  t.equal(hash, hashControllerRevisionData(data("a"), 0));
  t.equal(cr.revision, 3);
  t.match(cr.metadata.labels, { app: "web" });
  t.match(cr.metadata.ownerReferences, [
    { kind: "StatefulSet", name: "web", uid: "uid-web", controller: true },
  ]);
  t.not(newControllerRevision(parent, GVK, {}, data("a"), 3, 1).metadata.name, cr.metadata.name);
});

t.test("sorting by revision, then creation time, then name; equality by data", async (t) => {
  const r = [
    revision("c", 2, data("a"), { creationTimestamp: "2025-01-01T00:00:02Z" }),
    revision("b", 2, data("a"), { creationTimestamp: "2025-01-01T00:00:01Z" }),
    revision("a", 1, data("b")),
    revision("d", 2, data("a"), { creationTimestamp: "2025-01-01T00:00:01Z" }),
  ];
  t.same(
    sortControllerRevisions(r).map((x) => x.metadata.name),
    ["a", "b", "d", "c"],
  );
  t.equal(nextRevision(sortControllerRevisions(r)), 3);
  t.equal(nextRevision([]), 1);
  t.ok(equalRevision(r[0], r[1]));
  t.notOk(equalRevision(r[0], r[2]));
  t.ok(equalRevision(undefined, undefined));
  t.notOk(equalRevision(r[0], undefined));
  t.same(
    findEqualRevisions(r, revision("x", 9, data("a"))).map((x) => x.metadata.name),
    ["c", "b", "d"],
  );
});

t.test("truncation: non-live revisions beyond the limit, oldest first", async (t) => {
  const r = [1, 2, 3, 4, 5].map((n) => revision(`r${n}`, n, data(String(n))));
  t.same(
    revisionsToTruncate(r, new Set(["r1", "r5"]), 1).map((x) => x.metadata.name),
    ["r2", "r3"],
  );
  t.same(revisionsToTruncate(r, new Set(), 10), []);
  t.same(
    revisionsToTruncate(r, new Set(["r5"]), 0).map((x) => x.metadata.name),
    ["r1", "r2", "r3", "r4"],
  );
});

function newHistory(objects: KubeObject[] = []) {
  const client = new FakeClient({ objects });
  const indexer = new Indexer<ControllerRevision>({});
  for (const o of objects) if (o.kind === "ControllerRevision") indexer.add(o as ControllerRevision);
  return { client, indexer, history: new History(client, new Lister(indexer)) };
}

t.test("listing: those matching the selector, owned by the parent or by no controller", async (t) => {
  const own = revision("own", 1, data("a"), {
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "uid-web", controller: true },
    ],
  });
  const other = revision("other", 1, data("a"), {
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "StatefulSet", name: "x", uid: "uid-x", controller: true },
    ],
  });
  const orphan = revision("orphan", 1, data("a"));
  const unlabelled = revision("unlabelled", 1, data("a"), { labels: {} });
  const { history } = newHistory([own, other, orphan, unlabelled]);
  t.same(
    history
      .listControllerRevisions(parent, toSelector({ matchLabels: { app: "web" } }))
      .map((r) => r.metadata.name)
      .sort(),
    ["orphan", "own"],
  );
});

t.test(
  "create: a name held by other data raises the collision count; by the same data it is that revision",
  async (t) => {
    const cr = newControllerRevision(parent, GVK, { app: "web" }, data("a"), 1, 0);
    const squatter = revision(cr.metadata.name as string, 7, data("other"));
    const { client, history } = newHistory([squatter]);
    const made = await history.createControllerRevision(parent, cr, 0);
    t.equal(made.collisionCount, 1);
    t.equal(made.revision.metadata.name, `web-${hashControllerRevisionData(data("a"), 1)}`);
    t.equal(client.actions.filter((a) => a.verb === "create").length, 2);

    const again = await history.createControllerRevision(parent, cr, 1);
    t.equal(again.collisionCount, 1, "the same data under the name: no new collision");
    t.equal(again.revision.metadata.uid, made.revision.metadata.uid);
  },
);

t.test("update: renumbers a revision, retrying a conflict on a fresh read", async (t) => {
  const r = revision("r", 1, data("a"));
  const { client, history } = newHistory([r]);
  const stored = client.tracker.get("apps/v1", "controllerrevisions", "ns", "r") as ControllerRevision;
  let conflicts = 1;
  client.prependReactor("update", "controllerrevisions", () => {
    if (conflicts-- > 0)
      return {
        handled: true,
        error: new ApiError(409, { kind: "Status", reason: "Conflict", message: "conflict" }),
      };
    return undefined;
  });
  const updated = await history.updateControllerRevision(stored, 5);
  t.equal(updated.revision, 5);
  t.equal(
    (client.tracker.get("apps/v1", "controllerrevisions", "ns", "r") as ControllerRevision).revision,
    5,
  );
  t.equal(client.actions.filter((a) => a.verb === "get").length, 1, "one fresh read after the conflict");
  t.equal((await history.updateControllerRevision(updated, 5)).revision, 5, "already numbered: no write");
});

t.test(
  "adopt and release: uid-guarded strategic merge patches; releasing a gone revision is fine",
  async (t) => {
    const r = revision("r", 1, data("a"));
    const { client, history } = newHistory([r]);
    const stored = client.tracker.get("apps/v1", "controllerrevisions", "ns", "r") as ControllerRevision;
    const adopted = await history.adoptControllerRevision(parent, GVK, stored);
    t.match(adopted.metadata.ownerReferences, [
      { uid: "uid-web", controller: true, blockOwnerDeletion: true },
    ]);
    await t.rejects(
      history.adoptControllerRevision(parent, GVK, adopted),
      /attempt to adopt revision owned by/,
    );
    const released = await history.releaseControllerRevision(parent, adopted);
    t.same(released?.metadata.ownerReferences ?? [], []);
    await history.deleteControllerRevision(adopted);
    t.equal(await history.releaseControllerRevision(parent, adopted), undefined);
  },
);
