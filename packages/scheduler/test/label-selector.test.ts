/**
 * The compiled label selectors agree with the API package's matcher (metav1 semantics) on random
 * selectors and label sets, and NodeMatchCache reuses an answer only while a node's pods stay the
 * same.
 */
import { type LabelSelector, selectorMatches } from "@skiff/api";
import fc from "fast-check";
import t from "tap";
import { compiledSelector, compileSelector } from "../src/framework/label-selector.js";
import { NodeMatchCache } from "../src/framework/node-match-cache.js";
import { PodInfo } from "../src/framework/pod-info.js";
import { makeNode, makePod, nodeInfo } from "./fixtures.js";

const key = fc.constantFrom("app", "tier", "zone", "constructor", "__proto__", "toString");
const value = fc.constantFrom("a", "b", "c", "");
const selector: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: fc.dictionary(key, value, { maxKeys: 3 }),
    matchExpressions: fc.array(
      fc.record({
        key,
        operator: fc.constantFrom(
          "In" as const,
          "NotIn" as const,
          "Exists" as const,
          "DoesNotExist" as const,
        ),
        values: fc.array(value, { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

t.test("compileSelector agrees with selectorMatches", async (t) => {
  fc.assert(
    fc.property(
      fc.option(selector, { nil: undefined }),
      fc.option(fc.dictionary(key, value), { nil: undefined }),
      (sel, labels) => {
        const want = selectorMatches(sel, labels ?? {});
        return compileSelector(sel)(labels) === (sel === undefined ? false : want);
      },
    ),
    { numRuns: 3000 },
  );
  t.equal(compileSelector({})(undefined), true, "an empty selector selects everything");
  t.equal(compileSelector(undefined)({ a: "b" }), false, "no selector selects nothing");
  const sel = { matchLabels: { app: "a" } };
  t.equal(compiledSelector(sel), compiledSelector(sel), "compiled once per selector object");
});

t.test("NodeMatchCache: reused for the same generation, recomputed after a change", async (t) => {
  const ni = nodeInfo(makeNode("n1"), makePod("a", { nodeName: "n1", labels: { app: "a" } }));
  const cache = new NodeMatchCache<number>(2);
  let computed = 0;
  const count = () =>
    cache.get(ni, "app=a", (n) => {
      computed++;
      return n.pods.filter((p) => p.pod.metadata.labels?.app === "a").length;
    });
  t.equal(count(), 1);
  t.equal(count(), 1);
  t.equal(computed, 1, "answered from the cache");
  ni.addPod(new PodInfo(makePod("b", { nodeName: "n1", labels: { app: "a" } })));
  t.equal(count(), 2, "a new pod changes the generation");
  t.equal(computed, 2);
  const clone = ni.clone();
  clone.removePod(clone.pods[0]?.uid ?? "");
  t.equal(
    cache.get(clone, "app=a", (n) => n.pods.length),
    1,
    "a changed clone is its own entry",
  );
  t.equal(count(), 2, "and the original keeps its answer");
  cache.get(ni, "k2", () => 0);
  cache.get(ni, "k3", () => 0);
  t.equal(computed, 2);
  count();
  t.equal(computed, 3, "the oldest key was dropped at the bound");
});
