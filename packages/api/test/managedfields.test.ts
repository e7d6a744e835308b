import fc from "fast-check";
import t from "tap";
import { podKind } from "../src/kinds/pod.js";
import {
  applyManagers,
  ConflictError,
  capManagers,
  compare,
  decodeManagers,
  encodeManagers,
  FieldSet,
  type Managers,
  managerId,
  merge,
  pathString,
  removeItems,
  toFieldSet,
  updateManagers,
  validateFieldManager,
  validateManagedFields,
} from "../src/managedfields/index.js";
import type { JsonValue } from "../src/patch/json.js";

const schema = podKind.schema;
const pod = (spec: Record<string, unknown>, labels: Record<string, string> = {}): JsonValue =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: Object.keys(labels).length > 0 ? { name: "p", labels } : { name: "p" },
    spec,
  }) as JsonValue;
const c = (name: string, extra: Record<string, unknown> = {}) => ({ name, image: `img-${name}`, ...extra });
const all = (s: Managers) => new Map([...s].map(([k, v]) => [k, v.set]));
const keep = (s: FieldSet) => s;

t.test("paths print as kube's", async (t) => {
  t.equal(
    pathString(["f:spec", "f:containers", 'k:{"name":"c"}', "f:image"]),
    '.spec.containers[name="c"].image',
  );
  t.equal(
    pathString(["f:spec", 'k:{"containerPort":80,"protocol":"TCP"}']),
    '.spec[containerPort=80,protocol="TCP"]',
  );
  t.equal(pathString(["f:metadata", "f:finalizers", 'v:"a"']), '.metadata.finalizers[="a"]');
  t.equal(pathString(["i:3"]), "[3]");
});

t.test("FieldsV1 round trip and set operations", async (t) => {
  const v1 = { "f:metadata": { "f:labels": { ".": {}, "f:a": {} } }, "f:spec": { "f:x": {} } };
  const s = FieldSet.fromFieldsV1(v1);
  t.same(s.toFieldsV1(), v1);
  t.ok(s.has(["f:metadata", "f:labels"]));
  t.notOk(s.has(["f:metadata"]));
  const o = FieldSet.of(["f:spec", "f:x"], ["f:spec", "f:y"]);
  t.same(s.intersection(o).toFieldsV1(), { "f:spec": { "f:x": {} } });
  t.same(s.difference(o).toFieldsV1(), { "f:metadata": { "f:labels": { ".": {}, "f:a": {} } } });
  t.same(s.recursiveDifference(FieldSet.of(["f:metadata"])).toFieldsV1(), { "f:spec": { "f:x": {} } });
  t.ok(s.union(o).equals(o.union(s)));
  t.throws(() => FieldSet.fromFieldsV1({ "x:bad": {} }));
  t.throws(() => FieldSet.fromFieldsV1({ "k:notjson": {} }));
});

t.test("toFieldSet follows the schema", async (t) => {
  const s = toFieldSet(
    schema,
    pod(
      {
        containers: [
          c("a", { ports: [{ containerPort: 80 }], env: [{ name: "E", value: "1" }], args: ["x"] }),
        ],
      },
      { app: "x" },
    ),
  );
  t.same(s.toFieldsV1(), {
    "f:apiVersion": {},
    "f:kind": {},
    "f:metadata": { "f:labels": { "f:app": {} }, "f:name": {} },
    "f:spec": {
      "f:containers": {
        'k:{"name":"a"}': {
          ".": {},
          "f:args": {},
          "f:env": { 'k:{"name":"E"}': { ".": {}, "f:name": {}, "f:value": {} } },
          "f:image": {},
          "f:name": {},
          "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} } },
        },
      },
    },
  });
});

t.test("compare: added, modified, removed", async (t) => {
  const a = pod({ containers: [c("a"), c("b")] }, { x: "1" });
  const b = pod({ containers: [c("a", { image: "new" }), c("d")] }, { x: "1", y: "2" });
  const r = compare(schema, a, b);
  t.same(r.modified.paths().map(pathString), ['.spec.containers[name="a"].image']);
  t.same(r.added.paths().map(pathString), [
    ".metadata.labels.y",
    '.spec.containers[name="d"]',
    '.spec.containers[name="d"].image',
    '.spec.containers[name="d"].name',
  ]);
  t.same(r.removed.paths().map(pathString), [
    '.spec.containers[name="b"]',
    '.spec.containers[name="b"].image',
    '.spec.containers[name="b"].name',
  ]);
  t.ok(compare(schema, a, a).added.empty());
});

t.test("merge keeps live items and fields the configuration does not name", async (t) => {
  const live = pod({
    containers: [c("a", { imagePullPolicy: "Always" }), c("b")],
    tolerations: [{ key: "k" }],
  });
  const config = pod({ containers: [c("c"), c("a", { image: "new" })], tolerations: [{ key: "z" }] });
  const m = merge(schema, live, config) as {
    spec: { containers: { name: string; image: string; imagePullPolicy?: string }[]; tolerations: unknown };
  };
  t.same(
    m.spec.containers.map((x) => x.name),
    ["c", "a", "b"],
  );
  t.equal(m.spec.containers[1]?.imagePullPolicy, "Always");
  t.equal(m.spec.containers[1]?.image, "new");
  t.same(m.spec.tolerations, [{ key: "z" }], "atomic lists are replaced");
  const removed = removeItems(
    schema,
    live,
    FieldSet.of(["f:spec", "f:containers", 'k:{"name":"b"}'], ["f:spec", "f:tolerations"]),
  );
  t.same(removed, pod({ containers: [c("a", { imagePullPolicy: "Always" })] }));
});

t.test("apply: prune, shared ownership, conflicts, force", async (t) => {
  const entry = (manager: string, operation: "Apply" | "Update" = "Apply") => ({
    manager,
    operation,
    apiVersion: "v1",
  });
  const alice = managerId(entry("alice"));
  const first = applyManagers(
    schema,
    {},
    pod({ containers: [c("a"), c("b")] }, { l: "1" }),
    new Map(),
    alice,
    entry("alice"),
    false,
    keep,
  );
  const second = applyManagers(
    schema,
    first.object,
    pod({ containers: [c("a")] }),
    first.managers,
    alice,
    entry("alice"),
    false,
    keep,
  );
  t.same((second.object as { spec: { containers: unknown[] } }).spec.containers, [c("a")], "b pruned");
  t.same((second.object as { metadata: { labels?: unknown } }).metadata.labels, undefined, "label pruned");

  const edit = managerId(entry("edit", "Update"));
  const edited = pod({ containers: [c("a", { image: "other" })] });
  const managers = updateManagers(
    schema,
    second.object,
    edited,
    second.managers,
    edit,
    entry("edit", "Update"),
    keep,
  );
  t.same(all(managers).get(edit)?.toFieldsV1(), {
    "f:spec": { "f:containers": { 'k:{"name":"a"}': { "f:image": {} } } },
  });
  t.notOk(
    managers.get(alice)?.set.has(["f:spec", "f:containers", 'k:{"name":"a"}', "f:image"]),
    "alice lost it",
  );

  // Same value: no conflict, shared.
  const same = applyManagers(
    schema,
    edited,
    pod({ containers: [c("a", { image: "other" })] }),
    managers,
    alice,
    entry("alice"),
    false,
    keep,
  );
  t.ok(same.managers.get(edit)?.set.has(["f:spec", "f:containers", 'k:{"name":"a"}', "f:image"]));
  // Different value: conflict.
  const err = t.throws(() =>
    applyManagers(
      schema,
      edited,
      pod({ containers: [c("a", { image: "mine" })] }),
      managers,
      alice,
      entry("alice"),
      false,
      keep,
    ),
  ) as unknown as ConflictError;
  t.ok(err instanceof ConflictError);
  t.equal(
    err.message,
    'Apply failed with 1 conflict: conflict with "edit" using v1: .spec.containers[name="a"].image',
  );
  const forced = applyManagers(
    schema,
    edited,
    pod({ containers: [c("a", { image: "mine" })] }),
    managers,
    alice,
    entry("alice"),
    true,
    keep,
  );
  t.equal(forced.managers.has(edit), false, "edit lost its only field");
});

t.test("encode/decode and validation", async (t) => {
  const m: Managers = new Map([
    [
      managerId({ manager: "u", operation: "Update", apiVersion: "v1" }),
      {
        manager: "u",
        operation: "Update",
        apiVersion: "v1",
        time: "2026-01-01T00:00:00Z",
        set: FieldSet.of(["f:data", "f:a"]),
      },
    ],
    [
      managerId({ manager: "a", operation: "Apply", apiVersion: "v1" }),
      {
        manager: "a",
        operation: "Apply",
        apiVersion: "v1",
        time: "2026-01-02T00:00:00Z",
        set: FieldSet.of(["f:data", "f:b"]),
      },
    ],
  ]);
  const enc = encodeManagers(m);
  t.same(
    enc.map((e) => e.manager),
    ["a", "u"],
    "Apply entries first",
  );
  t.same(encodeManagers(decodeManagers(enc)), enc);
  t.same(
    validateManagedFields([{ manager: "m", operation: "Delete", fieldsType: "FieldsV2" }]).map(
      (e) => e.field,
    ),
    ["metadata.managedFields[0].operation", "metadata.managedFields[0].fieldsType"],
  );
  t.equal(validateFieldManager("x".repeat(129), "fieldManager")[0]?.type, "FieldValueTooLong");
  t.equal(validateFieldManager("a\u0001b", "fieldManager")[0]?.detail, "invalid characters at 1");
  t.same(validateFieldManager("kubectl-client-side-apply", "fieldManager"), []);
});

t.test("property: applying a configuration twice changes nothing", async (t) => {
  const containers = fc
    .uniqueArray(fc.constantFrom("a", "b", "c", "d"), { maxLength: 4 })
    .map((names) => names.map((n) => c(n)));
  const labels = fc.dictionary(fc.constantFrom("x", "y", "z"), fc.constantFrom("1", "2"));
  fc.assert(
    fc.property(containers, labels, containers, labels, (c1, l1, c2, l2) => {
      const id = managerId({ manager: "m", operation: "Apply", apiVersion: "v1" });
      const e = { manager: "m", operation: "Apply" as const, apiVersion: "v1" };
      const one = applyManagers(schema, {}, pod({ containers: c1 }, l1), new Map(), id, e, false, keep);
      const two = applyManagers(
        schema,
        one.object,
        pod({ containers: c2 }, l2),
        one.managers,
        id,
        e,
        false,
        keep,
      );
      const three = applyManagers(
        schema,
        two.object,
        pod({ containers: c2 }, l2),
        two.managers,
        id,
        e,
        false,
        keep,
      );
      t.same(three.object, two.object);
      const got = two.object as { spec?: { containers?: unknown[] }; metadata: { labels?: unknown } };
      t.same(got.spec?.containers ?? [], c2, "only the applied containers remain");
      t.same(got.metadata.labels ?? {}, l2);
    }),
    { numRuns: 60 },
  );
});

t.test("at most 10 Update entries: the oldest merge into ancient-changes", async (t) => {
  const m: Managers = new Map();
  for (let i = 0; i < 12; i++) {
    const e = { manager: `m${i}`, operation: "Update" as const, apiVersion: "v1" };
    m.set(managerId(e), {
      ...e,
      time: `2026-01-01T00:00:${String(i).padStart(2, "0")}Z`,
      set: FieldSet.of(["f:data", `f:k${i}`]),
    });
  }
  const applied = { manager: "a", operation: "Apply" as const, apiVersion: "v1" };
  m.set(managerId(applied), { ...applied, set: FieldSet.of(["f:data", "f:x"]) });
  const capped = capManagers(m);
  const updates = [...capped.values()].filter((e) => e.operation === "Update");
  t.equal(updates.length, 10);
  const ancient = updates.find((e) => e.manager === "ancient-changes");
  t.same(ancient?.set.toFieldsV1(), { "f:data": { "f:k0": {}, "f:k1": {}, "f:k2": {} } });
  t.equal(ancient?.time, "2026-01-01T00:00:02Z", "the time of the newest merged entry");
  t.ok(
    [...capped.values()].some((e) => e.manager === "a"),
    "Apply entries stay",
  );
});

t.test("a dropped map keeps the keys someone owns (kube's add-back of owned items)", async (t) => {
  const cmSchema = {
    type: "object",
    properties: { data: { type: "map", values: { type: "string" } } },
  } as const;
  const e = { manager: "m", operation: "Apply" as const, apiVersion: "v1" };
  const id = managerId(e);
  const other = { manager: "o", operation: "Apply" as const, apiVersion: "v1" };
  // m's last set owns the map itself and two keys; now it applies one key; o owns another.
  const managers: Managers = new Map([
    [id, { ...e, set: FieldSet.fromFieldsV1({ "f:data": { ".": {}, "f:a": {}, "f:b": {} } }) }],
    [managerId(other), { ...other, set: FieldSet.of(["f:data", "f:c"]) }],
  ]);
  const live = { data: { a: "1", b: "2", c: "3", d: "4" } };
  const r = applyManagers(cmSchema, live, { data: { a: "1" } }, managers, id, e, false, keep);
  t.same(r.object, { data: { a: "1", c: "3" } }, "b (only m's) and d (nobody's, under m's map) go; c stays");
});
