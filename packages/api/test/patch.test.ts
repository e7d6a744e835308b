import fc from "fast-check";
import t from "tap";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonObject,
  type JsonPatchOperation,
  type JsonValue,
  kubernetesPatchMeta,
  PatchError,
  type PatchMeta,
} from "../src/patch/index.js";

/** Recursively freezes a value so that any mutation by the code under test throws. */
function frozen<T extends JsonValue>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const e of Object.values(v)) frozen(e);
    Object.freeze(v);
  }
  return v;
}

const json = (s: string): JsonValue => frozen(JSON.parse(s) as JsonValue);

t.test("RFC 6902 JSON patch", async (t) => {
  const ok = (name: string, doc: string, ops: string, want: string) =>
    t.strictSame(
      applyJsonPatch(json(doc), json(ops) as unknown as JsonPatchOperation[]),
      JSON.parse(want),
      name,
    );
  const fails = (name: string, doc: string, ops: string, message: string | RegExp) =>
    t.throws(
      () => applyJsonPatch(json(doc), json(ops) as unknown as JsonPatchOperation[]),
      { name: "PatchError", message },
      name,
    );

  ok(
    "A.1 add object member",
    `{"foo":"bar"}`,
    `[{"op":"add","path":"/baz","value":"qux"}]`,
    `{"baz":"qux","foo":"bar"}`,
  );
  ok(
    "A.2 add array element",
    `{"foo":["bar","baz"]}`,
    `[{"op":"add","path":"/foo/1","value":"qux"}]`,
    `{"foo":["bar","qux","baz"]}`,
  );
  ok(
    "A.3 remove object member",
    `{"baz":"qux","foo":"bar"}`,
    `[{"op":"remove","path":"/baz"}]`,
    `{"foo":"bar"}`,
  );
  ok(
    "A.4 remove array element",
    `{"foo":["bar","qux","baz"]}`,
    `[{"op":"remove","path":"/foo/1"}]`,
    `{"foo":["bar","baz"]}`,
  );
  ok(
    "A.5 replace",
    `{"baz":"qux","foo":"bar"}`,
    `[{"op":"replace","path":"/baz","value":"boo"}]`,
    `{"baz":"boo","foo":"bar"}`,
  );
  ok(
    "A.6 move value",
    `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`,
    `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
    `{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`,
  );
  ok(
    "A.7 move array element",
    `{"foo":["all","grass","cows","eat"]}`,
    `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`,
    `{"foo":["all","cows","eat","grass"]}`,
  );
  ok(
    "A.8 test success",
    `{"baz":"qux","foo":["a",2,"c"]}`,
    `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`,
    `{"baz":"qux","foo":["a",2,"c"]}`,
  );
  fails(
    "A.9 test failure",
    `{"baz":"qux"}`,
    `[{"op":"test","path":"/baz","value":"bar"}]`,
    "testing value /baz failed",
  );
  ok(
    "A.10 add nested member",
    `{"foo":"bar"}`,
    `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`,
    `{"foo":"bar","child":{"grandchild":{}}}`,
  );
  ok(
    "A.11 ignore unrecognized members",
    `{"foo":"bar"}`,
    `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`,
    `{"foo":"bar","baz":"qux"}`,
  );
  fails(
    "A.12 add to nonexistent target",
    `{"foo":"bar"}`,
    `[{"op":"add","path":"/baz/bat","value":"qux"}]`,
    `jsonpatch add operation does not apply: doc is missing path: "/baz/bat"`,
  );
  ok(
    "A.14 ~ escape ordering",
    `{"/":9,"~1":10}`,
    `[{"op":"test","path":"/~01","value":10},{"op":"test","path":"/~1","value":9}]`,
    `{"/":9,"~1":10}`,
  );
  fails(
    "A.15 strings vs numbers",
    `{"/":9,"~1":10}`,
    `[{"op":"test","path":"/~01","value":"10"}]`,
    "testing value /~01 failed",
  );
  ok(
    "A.16 add array value",
    `{"foo":["bar"]}`,
    `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`,
    `{"foo":["bar",["abc","def"]]}`,
  );

  ok("copy", `{"a":{"b":[1]}}`, `[{"op":"copy","from":"/a","path":"/c"}]`, `{"a":{"b":[1]},"c":{"b":[1]}}`);
  ok("replace root", `{"a":1}`, `[{"op":"replace","path":"","value":[1]}]`, `[1]`);
  ok("test null value", `{"a":null}`, `[{"op":"test","path":"/a","value":null}]`, `{"a":null}`);
  ok("add replaces existing member", `{"a":1}`, `[{"op":"add","path":"/a","value":2}]`, `{"a":2}`);
  ok(
    "test object ignores key order",
    `{"a":{"x":1,"y":2}}`,
    `[{"op":"test","path":"/a","value":{"y":2,"x":1}}]`,
    `{"a":{"x":1,"y":2}}`,
  );
  fails(
    "replace missing",
    `{"spec":{}}`,
    `[{"op":"replace","path":"/spec/x","value":1}]`,
    `jsonpatch replace operation does not apply: doc is missing path: "/spec/x"`,
  );
  fails(
    "remove missing",
    `{"a":[1]}`,
    `[{"op":"remove","path":"/a/1"}]`,
    `jsonpatch remove operation does not apply: doc is missing path: "/a/1"`,
  );
  fails("add index past end", `{"a":[1]}`, `[{"op":"add","path":"/a/2","value":0}]`, /index out of bounds/);
  fails(
    "leading zero index",
    `{"a":[1,2]}`,
    `[{"op":"add","path":"/a/01","value":0}]`,
    /index out of bounds/,
  );
  fails(
    "move into own child",
    `{"a":{"b":{}}}`,
    `[{"op":"move","from":"/a","path":"/a/b/c"}]`,
    /its own child/,
  );
  fails(
    "copy missing from",
    `{}`,
    `[{"op":"copy","from":"/x","path":"/y"}]`,
    `jsonpatch copy operation does not apply: doc is missing path: "/x"`,
  );
  fails("unknown op", `{}`, `[{"op":"frob","path":"/x"}]`, /unexpected kind of operation: "frob"/);
  fails("missing value", `{}`, `[{"op":"add","path":"/x"}]`, /missing "value"/);
  fails("bad pointer", `{}`, `[{"op":"add","path":"x","value":1}]`, /invalid JSON pointer/);
  fails("bad escape", `{}`, `[{"op":"add","path":"/a~2","value":1}]`, /invalid escape/);

  const doc = json(`{"a":[1,2]}`);
  t.throws(() =>
    applyJsonPatch(doc, [
      { op: "add", path: "/a/-", value: 3 },
      { op: "test", path: "/a/0", value: 9 },
    ]),
  );
  t.strictSame(doc, { a: [1, 2] }, "failed patch leaves the input alone");
  const value = { x: 1 };
  const out = applyJsonPatch({}, [{ op: "add", path: "/v", value }]) as JsonObject;
  t.not(out.v, value, "values from operations are copied");
  t.ok(new PatchError("x") instanceof Error);
});

t.test("RFC 7386 merge patch (appendix A)", async (t) => {
  const cases: [string, string, string][] = [
    [`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`],
    [`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`],
    [`{"a":"b"}`, `{"a":null}`, `{}`],
    [`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`],
    [`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`],
    [`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`],
    [`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`],
    [`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`],
    [`["a","b"]`, `["c","d"]`, `["c","d"]`],
    [`{"a":"b"}`, `["c"]`, `["c"]`],
    [`{"a":"foo"}`, `null`, `null`],
    [`{"a":"foo"}`, `"bar"`, `"bar"`],
    [`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`],
    [`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`],
    [`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`],
  ];
  for (const [doc, patch, want] of cases) {
    t.strictSame(applyMergePatch(json(doc), json(patch)), JSON.parse(want), `${doc} + ${patch}`);
  }
});

const deploymentMeta = kubernetesPatchMeta({
  containers: { patchMergeKey: "name", patchStrategy: "merge" },
  ports: { patchMergeKey: "containerPort", patchStrategy: "merge" },
  "spec.strategy": { patchStrategy: "retainKeys" },
});

t.test("kubernetesPatchMeta", async (t) => {
  const meta = kubernetesPatchMeta({
    "spec.template.spec.containers": { patchMergeKey: "name", patchStrategy: "merge" },
    containers: { patchMergeKey: "other" },
    finalizers: { patchStrategy: "merge" },
  });
  t.equal(meta(["spec", "template", "spec", "containers"])?.patchMergeKey, "name", "full path wins");
  t.equal(meta(["spec", "containers"])?.patchMergeKey, "other", "suffix match");
  t.equal(meta(["metadata", "finalizers"])?.patchStrategy, "merge");
  t.equal(meta(["spec"]), undefined);
  t.equal(meta(["toString"]), undefined, "no prototype keys");
});

t.test("strategic merge patch", async (t) => {
  const smp = (doc: string, patch: string, meta: PatchMeta = deploymentMeta) =>
    applyStrategicMergePatch(json(doc), json(patch), meta);

  t.test("kubectl re-apply patch (retainKeys, setElementOrder, $patch: delete)", async (t) => {
    const original = `{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},"template":{"spec":{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}]}]}}}}`;
    // Port 80 is deleted; $setElementOrder names 81, which exists neither in the live list nor in the
    // patch. Upstream only reorders elements that are present after the merge (entries of the order list
    // that match nothing are ignored), so the result is an empty list - not a missing field.
    const patch = `{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},"template":{"spec":{"$setElementOrder/containers":[{"name":"c"}],"containers":[{"name":"c","$setElementOrder/ports":[{"containerPort":81}],"ports":[{"$patch":"delete","containerPort":80}]}]}}}}`;
    t.strictSame(smp(original, patch), {
      spec: {
        strategy: { type: "Recreate" },
        template: { spec: { containers: [{ name: "c", image: "nginx", ports: [] }] } },
      },
    });
    const adding = `{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},"template":{"spec":{"$setElementOrder/containers":[{"name":"c"}],"containers":[{"name":"c","$setElementOrder/ports":[{"containerPort":81}],"ports":[{"containerPort":81},{"$patch":"delete","containerPort":80}]}]}}}}`;
    t.strictSame(smp(original, adding), {
      spec: {
        strategy: { type: "Recreate" },
        template: { spec: { containers: [{ name: "c", image: "nginx", ports: [{ containerPort: 81 }] }] } },
      },
    });
  });

  t.test("maps", async (t) => {
    t.strictSame(smp(`{"a":{"b":1,"c":2},"d":3}`, `{"a":{"b":null,"e":4},"d":null}`), { a: { c: 2, e: 4 } });
    t.strictSame(
      smp(`{"a":1}`, `{"b":{"c":null,"d":1}}`),
      { a: 1, b: { d: 1 } },
      "nulls in new maps dropped",
    );
    t.strictSame(smp(`{"a":{"b":1}}`, `{"a":5}`), { a: 5 }, "type change replaces");
    t.strictSame(
      smp(
        `{"sel":{"a":"1"}}`,
        `{"sel":{"b":"2"}}`,
        kubernetesPatchMeta({ sel: { patchStrategy: "replace" } }),
      ),
      { sel: { b: "2" } },
      "map with replace strategy",
    );
  });

  t.test("$patch on maps", async (t) => {
    t.strictSame(smp(`{"m":{"a":1,"b":2},"x":1}`, `{"m":{"$patch":"replace","c":3}}`), { m: { c: 3 }, x: 1 });
    t.strictSame(smp(`{"m":{"a":1,"b":2},"x":1}`, `{"m":{"$patch":"delete"}}`), { x: 1 });
    t.strictSame(smp(`{"m":{"a":1},"x":1}`, `{"m":{"$patch":"merge","b":2}}`), { m: { a: 1, b: 2 }, x: 1 });
    t.strictSame(smp(`{"a":1}`, `{"$patch":"replace","b":2}`), { b: 2 }, "top-level replace");
    t.strictSame(smp(`{"a":1}`, `{"$patch":"delete"}`), {}, "top-level delete");
    t.throws(() => smp(`{"m":{}}`, `{"m":{"$patch":"bogus"}}`), {
      name: "PatchError",
      message: /unknown patch type/,
    });
  });

  t.test("lists with merge key", async (t) => {
    const doc = `{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}`;
    t.strictSame(smp(doc, `{"containers":[{"name":"b","image":"b:2"},{"name":"c","image":"c:1"}]}`), {
      containers: [
        { name: "a", image: "a:1" },
        { name: "b", image: "b:2" },
        { name: "c", image: "c:1" },
      ],
    });
    t.strictSame(smp(doc, `{"containers":[{"name":"a","image":null,"args":["x"]}]}`), {
      containers: [
        { name: "a", args: ["x"] },
        { name: "b", image: "b:1" },
      ],
    });
    t.strictSame(smp(doc, `{"containers":[{"$patch":"delete","name":"a"}]}`), {
      containers: [{ name: "b", image: "b:1" }],
    });
    t.strictSame(smp(doc, `{"containers":[{"name":"z"},{"$patch":"replace"}]}`), {
      containers: [{ name: "z" }],
    });
    t.strictSame(smp(doc, `{"containers":[{"$patch":"merge","name":"b","image":"b:3"}]}`), {
      containers: [
        { name: "a", image: "a:1" },
        { name: "b", image: "b:3" },
      ],
    });
    // Upstream (normalizeElementOrder/mergeSortedSlice) places elements the live list does not know in
    // front of server-only ones when the patch names no existing element: the kubectl docs' "patch-demo"
    // example shows the added container first. Use $setElementOrder to control placement.
    t.strictSame(smp(doc, `{"containers":[{"name":"c"}]}`), {
      containers: [{ name: "c" }, { name: "a", image: "a:1" }, { name: "b", image: "b:1" }],
    });
    t.strictSame(smp(`{}`, `{"containers":[{"name":"n","ports":[{"containerPort":1}]}]}`), {
      containers: [{ name: "n", ports: [{ containerPort: 1 }] }],
    });
    t.throws(() => smp(doc, `{"containers":[{"image":"x"}]}`), {
      name: "PatchError",
      message: /merge key: name/,
    });
    t.throws(() => smp(doc, `{"containers":[{"$patch":"delete"}]}`), /no merge key/);
    t.throws(() => smp(doc, `{"containers":[{"$patch":"nope","name":"a"}]}`), /unknown patch type/);
    t.throws(
      () => smp(`{"l":[{"a":1}]}`, `{"l":[{"a":2}]}`, kubernetesPatchMeta({ l: { patchStrategy: "merge" } })),
      /without merge key/,
    );
  });

  t.test("lists without merge strategy are replaced", async (t) => {
    t.strictSame(
      smp(
        `{"args":["a","b"],"l":[{"name":"x","v":1}]}`,
        `{"args":["c"],"l":[{"name":"y"}]}`,
        () => undefined,
      ),
      {
        args: ["c"],
        l: [{ name: "y" }],
      },
    );
  });

  t.test("primitive lists with merge strategy", async (t) => {
    const meta = kubernetesPatchMeta({ finalizers: { patchStrategy: "merge" } });
    t.strictSame(smp(`{"finalizers":["a","b"]}`, `{"finalizers":["b","c"]}`, meta), {
      finalizers: ["a", "b", "c"],
    });
    t.strictSame(smp(`{"finalizers":["a","b"]}`, `{"finalizers":["c"]}`, meta), {
      finalizers: ["c", "a", "b"],
    });
    t.strictSame(
      smp(`{"finalizers":["a","b","c"]}`, `{"$deleteFromPrimitiveList/finalizers":["b","x"]}`, meta),
      {
        finalizers: ["a", "c"],
      },
    );
    t.strictSame(
      smp(
        `{"finalizers":["a","b","c"]}`,
        `{"$setElementOrder/finalizers":["c","d","a","b"],"finalizers":["d"],"$deleteFromPrimitiveList/finalizers":["b"]}`,
        meta,
      ),
      { finalizers: ["c", "d", "a"] },
    );
  });

  t.test("$setElementOrder", async (t) => {
    const doc = `{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}`;
    t.strictSame(smp(doc, `{"$setElementOrder/containers":[{"name":"c"},{"name":"a"},{"name":"b"}]}`), {
      containers: [{ name: "c" }, { name: "a" }, { name: "b" }],
    });
    t.strictSame(
      smp(
        doc,
        `{"$setElementOrder/containers":[{"name":"b"},{"name":"d"}],"containers":[{"name":"d","x":1}]}`,
      ),
      { containers: [{ name: "a" }, { name: "b" }, { name: "d", x: 1 }, { name: "c" }] },
      "server-only elements keep their place relative to the live list",
    );
  });

  t.test("$retainKeys", async (t) => {
    t.strictSame(
      smp(
        `{"spec":{"strategy":{"type":"A","x":1,"y":2}}}`,
        `{"spec":{"strategy":{"$retainKeys":["type","y"],"type":"B"}}}`,
      ),
      {
        spec: { strategy: { type: "B", y: 2 } },
      },
    );
    t.throws(
      () => smp(`{"spec":{"strategy":{}}}`, `{"spec":{"strategy":{"$retainKeys":["type"],"z":1}}}`),
      /retainKeys/,
    );
    t.throws(
      () => smp(`{"spec":{"strategy":{}}}`, `{"spec":{"strategy":{"$retainKeys":"type"}}}`),
      /retainKeys/,
    );
  });

  t.test("unknown directives", async (t) => {
    t.throws(() => smp(`{}`, `{"$frobnicate/list":[1]}`), {
      name: "PatchError",
      message: /unknown strategic merge patch directive/,
    });
    t.throws(() => smp(`{}`, `[1]`), PatchError);
    t.strictSame(smp(`{}`, `{"$ref":"#/x"}`), { $ref: "#/x" }, "plain $-fields are data");
  });
});

// ----- properties -----

const key = fc.constantFrom("a", "b", "c", "d", "e");
const scalar = fc.oneof(fc.boolean(), fc.integer(), fc.string({ maxLength: 4 }));

/** JSON trees without nulls (merge patch cannot express a null value). */
const { tree } = fc.letrec<{ tree: JsonValue; obj: JsonObject }>((tie) => ({
  tree: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("tree"), { maxLength: 3 }), tie("obj")),
  obj: fc.dictionary(key, tie("tree"), { maxKeys: 4, noNullPrototype: true }) as fc.Arbitrary<JsonObject>,
}));
const objOf = (v: fc.Arbitrary<JsonValue>) =>
  fc.dictionary(key, v, { maxKeys: 4, noNullPrototype: true }) as fc.Arbitrary<JsonObject>;

/** Nested maps of scalars (no lists), optionally with nulls. */
const { mapTree } = fc.letrec<{ mapTree: JsonObject; value: JsonValue }>((tie) => ({
  mapTree: objOf(tie("value")),
  value: fc.oneof({ depthSize: "small" }, scalar, tie("mapTree")),
}));
const { patchTree } = fc.letrec<{ patchTree: JsonObject; pvalue: JsonValue }>((tie) => ({
  patchTree: objOf(tie("pvalue")),
  pvalue: fc.oneof({ depthSize: "small" }, scalar, fc.constant(null), tie("patchTree")),
}));

const isObj = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function diffAsMergePatch(a: JsonValue, b: JsonValue): JsonValue {
  if (!isObj(a) || !isObj(b)) return b;
  const patch: JsonObject = {};
  for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) patch[k] = null;
  for (const [k, v] of Object.entries(b)) {
    const old = a[k];
    if (!Object.hasOwn(a, k)) patch[k] = v;
    else if (isObj(old) && isObj(v)) {
      const sub = diffAsMergePatch(old, v);
      if (Object.keys(sub as JsonObject).length > 0) patch[k] = sub;
    } else if (JSON.stringify(old) !== JSON.stringify(v)) patch[k] = v;
  }
  return patch;
}

t.test("property: merge patch of {} is identity", async (t) => {
  fc.assert(
    fc.property(objOf(tree), (doc) => {
      const out = applyMergePatch(frozen(doc), {});
      return out !== doc && (t.strictSame(out, doc) as boolean);
    }),
  );
});

t.test("property: applyMergePatch(a, diff(a, b)) equals b", async (t) => {
  fc.assert(
    fc.property(objOf(tree), objOf(tree), (a, b) => {
      const out = applyMergePatch(frozen(a), frozen(diffAsMergePatch(a, b)));
      return t.strictSame(out, b) as boolean;
    }),
  );
});

t.test("property: strategic merge without meta equals merge patch on list-free objects", async (t) => {
  fc.assert(
    fc.property(mapTree, patchTree, (doc, patch) => {
      frozen(doc);
      frozen(patch);
      return t.strictSame(applyStrategicMergePatch(doc, patch), applyMergePatch(doc, patch)) as boolean;
    }),
  );
});
