/**
 * The informer's cache without a server: the Indexer's incremental indexes (checked against a
 * rebuild after a run of random changes), frozen objects, the label selector parser, and Listers.
 */
import type { KubeObject, Pod } from "@skiff/api";
import t from "tap";
import {
  cloneObject,
  Indexer,
  Lister,
  MetaNamespaceIndexFunc,
  NamespaceIndex,
  NodeNameIndex,
  NodeNameIndexFunc,
  OwnerUidIndex,
  OwnerUidIndexFunc,
  parseLabelSelector,
  splitMetaNamespaceKey,
  toSelector,
} from "../src/index.js";

const pod = (
  ns: string,
  name: string,
  o: { node?: string; owners?: string[]; labels?: Record<string, string>; rv?: string } = {},
): Pod =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      resourceVersion: o.rv ?? "1",
      ...(o.labels === undefined ? {} : { labels: o.labels }),
      ...(o.owners === undefined
        ? {}
        : {
            ownerReferences: o.owners.map((uid) => ({
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: uid,
              uid,
            })),
          }),
    },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      ...(o.node === undefined ? {} : { nodeName: o.node }),
    },
  }) as Pod;

const indexers = {
  [NamespaceIndex]: MetaNamespaceIndexFunc,
  [NodeNameIndex]: NodeNameIndexFunc,
  [OwnerUidIndex]: OwnerUidIndexFunc,
};
const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();

t.test("indexes follow add, update and delete", async (t) => {
  const ix = new Indexer<Pod>(indexers);
  ix.add(pod("a", "p1", { node: "n1", owners: ["rs1"] }));
  ix.add(pod("a", "p2", { node: "n1", owners: ["rs1", "rs2"] }));
  ix.add(pod("b", "p3"));
  t.equal(ix.size, 3);
  t.same(names(ix.byIndex(NamespaceIndex, "a")), ["p1", "p2"]);
  t.same(names(ix.byIndex(NodeNameIndex, "n1")), ["p1", "p2"]);
  t.same(ix.byIndex(NodeNameIndex, ""), [], "an unbound pod is in no nodeName entry");
  t.same(names(ix.byIndex(OwnerUidIndex, "rs2")), ["p2"]);
  t.same(ix.indexKeys(OwnerUidIndex, "rs1").sort(), ["a/p1", "a/p2"]);
  t.same(ix.listIndexFuncValues(NodeNameIndex), ["n1"]);
  t.same(names(ix.index(OwnerUidIndex, pod("x", "probe", { owners: ["rs2", "rs1"] }))), ["p1", "p2"]);

  // Rebinding p2 moves it between entries; deleting empties an entry, which then goes away.
  ix.update(pod("a", "p2", { node: "n2", owners: ["rs2"] }));
  t.same(names(ix.byIndex(NodeNameIndex, "n1")), ["p1"]);
  t.same(names(ix.byIndex(NodeNameIndex, "n2")), ["p2"]);
  t.same(names(ix.byIndex(OwnerUidIndex, "rs1")), ["p1"]);
  t.equal(ix.delete(pod("a", "p1"))?.metadata.name, "p1", "delete returns what was stored");
  t.same(ix.listIndexFuncValues(OwnerUidIndex), ["rs2"]);
  t.same(ix.listIndexFuncValues(NodeNameIndex), ["n2"]);
  t.equal(ix.get("a/p1"), undefined);
  t.equal(ix.deleteByKey("a/p1"), undefined);

  ix.replace([pod("c", "p9", { node: "n9" })]);
  t.same(ix.listKeys(), ["c/p9"]);
  t.same(ix.listIndexFuncValues(NamespaceIndex), ["c"]);
  t.same(ix.listIndexFuncValues(OwnerUidIndex), []);

  t.throws(() => ix.byIndex("nope", "x"), /Index with name nope does not exist/);
  // addIndexers indexes what is stored; the same function again is no conflict, another one is.
  ix.addIndexers({ byName: (o) => [o.metadata.name ?? ""] });
  t.same(names(ix.byIndex("byName", "p9")), ["p9"]);
  ix.addIndexers({ [NamespaceIndex]: MetaNamespaceIndexFunc });
  t.throws(() => ix.addIndexers({ [NamespaceIndex]: () => [] }), /indexer conflict/);
  t.ok(ix.hasIndex("byName"));
});

t.test("an index function that throws changes nothing", async (t) => {
  const ix = new Indexer<Pod>({
    picky: (o) => {
      if (o.metadata.labels?.bad === "yes") throw new Error("no");
      return [o.metadata.name ?? ""];
    },
  });
  ix.add(pod("a", "p1"));
  t.throws(() => ix.update(pod("a", "p1", { labels: { bad: "yes" }, rv: "2" })), /no/);
  t.equal(ix.get("a/p1")?.metadata.resourceVersion, "1", "the old object stays");
  t.same(ix.indexKeys("picky", "p1"), ["a/p1"]);
});

t.test("incremental indexes equal a rebuild after random changes", async (t) => {
  // A seeded generator: the same run each time.
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((seed / 2 ** 31) * n); // the high bits: an LCG's low bits cycle quickly
  };
  const ix = new Indexer<Pod>(indexers);
  for (let step = 0; step < 20_000; step++) {
    const name = `p${rand(2000)}`;
    if (rand(5) === 0) ix.deleteByKey(`ns${rand(3)}/${name}`);
    else {
      const owners = [...new Set([`rs${rand(50)}`, `rs${rand(50)}`])].slice(0, 1 + rand(2));
      ix.update(pod(`ns${rand(3)}`, name, { node: rand(4) === 0 ? undefined : `n${rand(100)}`, owners }));
    }
  }
  const fresh = new Indexer<Pod>(indexers);
  fresh.replace(ix.list().map(cloneObject));
  t.ok(ix.size > 1000, `${ix.size} objects`);
  for (const name of Object.keys(indexers)) {
    t.same(ix.listIndexFuncValues(name).sort(), fresh.listIndexFuncValues(name).sort(), `${name}: values`);
    for (const v of fresh.listIndexFuncValues(name))
      t.same(ix.indexKeys(name, v).sort(), fresh.indexKeys(name, v).sort(), `${name}=${v}`);
  }
});

t.test("cached objects are frozen; cloneObject gives a mutable copy", async (t) => {
  const ix = new Indexer<Pod>();
  const p = pod("a", "p1", { labels: { app: "web" } });
  ix.add(p);
  const cached = ix.get("a/p1") as Pod;
  t.ok(Object.isFrozen(cached) && Object.isFrozen(cached.spec.containers[0]), "deep-frozen");
  t.throws(() => {
    (cached.metadata.labels as Record<string, string>).app = "db";
  }, TypeError);
  t.throws(() => {
    cached.spec.containers.push({ name: "d", image: "x" });
  }, TypeError);
  t.equal(cached.metadata.labels?.app, "web");
  const copy = cloneObject(cached);
  copy.metadata.labels = { app: "db" };
  copy.spec.containers[0] = { name: "e", image: "y" };
  t.equal(copy.metadata.labels.app, "db");
  t.equal(cached.metadata.labels?.app, "web", "the cache is untouched");
  ix.replace([pod("a", "p2")]);
  t.ok(Object.isFrozen(ix.get("a/p2")?.metadata), "replace freezes too");
});

t.test("label selector strings", async (t) => {
  t.same(parseLabelSelector("app=web, tier in (a, b),!x,y,env!=prod,v>2,w<10,k==v,e="), [
    { key: "app", operator: "=", values: ["web"] },
    { key: "tier", operator: "in", values: ["a", "b"] },
    { key: "x", operator: "!", values: [] },
    { key: "y", operator: "exists", values: [] },
    { key: "env", operator: "!=", values: ["prod"] },
    { key: "v", operator: "gt", values: ["2"] },
    { key: "w", operator: "lt", values: ["10"] },
    { key: "k", operator: "=", values: ["v"] },
    { key: "e", operator: "=", values: [""] },
  ]);
  t.same(parseLabelSelector(""), []);
  for (const bad of ["a in ()", "a in (b", "=b", "a,", "a b", "a>x", "!"])
    t.throws(() => parseLabelSelector(bad), bad);
  const m = (sel: string, labels: Record<string, string>) => toSelector(sel).matches(labels);
  t.ok(m("app=web,tier in (a,b),!x", { app: "web", tier: "b" }));
  t.notOk(m("app=web,tier in (a,b),!x", { app: "web", tier: "b", x: "1" }));
  t.notOk(m("tier notin (a)", { tier: "a" }));
  t.ok(m("tier notin (a)", {}));
  t.ok(m("v>2", { v: "3" }));
  t.notOk(m("v>2", { v: "x" }));
  t.ok(m("", {}));
  t.ok(toSelector({ matchExpressions: [{ key: "a", operator: "Exists" }] }).matches({ a: "" }));
  t.ok(toSelector({}).empty(), "an empty LabelSelector selects everything");
});

t.test("listers", async (t) => {
  const ix = new Indexer<Pod>({ [NamespaceIndex]: MetaNamespaceIndexFunc });
  ix.add(pod("a", "web1", { labels: { app: "web", tier: "fe" } }));
  ix.add(pod("a", "db1", { labels: { app: "db" } }));
  ix.add(pod("b", "web2", { labels: { app: "web", tier: "be" } }));
  const l = new Lister(ix);
  t.same(names(l.list()), ["db1", "web1", "web2"]);
  t.same(names(l.list("app=web,tier in (fe)")), ["web1"]);
  t.same(names(l.list({ matchLabels: { app: "web" } })), ["web1", "web2"]);
  t.same(names(l.namespace("a").list("app")), ["db1", "web1"]);
  t.equal(l.namespace("b").get("web2")?.metadata.name, "web2");
  t.equal(l.namespace("a").get("web2"), undefined);
  t.equal(l.get("a/db1")?.metadata.name, "db1");
  t.same(names(l.byIndex(NamespaceIndex, "b")), ["web2"]);
  // Without the NamespaceIndex, a namespace's objects are found by a scan.
  const plain = new Indexer<Pod>();
  for (const o of ix.list()) plain.add(o);
  t.same(names(new Lister(plain).namespace("a").list("app!=db")), ["web1"]);
  t.same(splitMetaNamespaceKey("a/b"), ["a", "b"]);
  t.same(splitMetaNamespaceKey("node1"), ["", "node1"]);
});
