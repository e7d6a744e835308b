/**
 * buildRuleset with a RulesetCache: after any sequence of changes (Services and EndpointSlices
 * replaced, removed, re-created with the same content; options and node name changed), the
 * cached build renders exactly as a fresh one, its partial sync from the previous cached build is
 * the one a fresh pair gives, and no build changes a Ruleset returned before it.
 */
import fc from "fast-check";
import t from "tap";
import {
  buildRuleset,
  type EndpointSlice,
  type ProxyRulesInput,
  type Ruleset,
  RulesetCache,
  renderFullSync,
  renderPartialSync,
  type Service,
} from "../src/index.js";
import { ep, input, service, slice } from "./rules-fixtures.js";

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const arbPort = fc.record({
  name: fc.constantFrom("", "http", "dns"),
  protocol: fc.constantFrom("TCP", "UDP", "SCTP"),
  port: fc.constantFrom(53, 80),
});
const arbService = fc.record({
  // Few names and addresses, so two slots sometimes share a Service name or a map key.
  name: fc.constantFrom("a", "b", "c"),
  clusterIP: fc.constantFrom("10.96.0.10", "10.96.0.11", "10.96.0.12", "None"),
  ports: fc.array(arbPort, { minLength: 1, maxLength: 2 }),
  nodePort: fc.boolean(),
  eTPLocal: fc.boolean(),
  iTPLocal: fc.boolean(),
  affinity: fc.constantFrom(0, 60),
});
const arbEndpoint = fc.record({
  ip: fc.constantFrom("10.244.0.5", "10.244.0.6", "10.244.1.5"),
  node: fc.constantFrom("node-a", "node-b"),
  state: fc.constantFrom("ready", "terminating", "gone"),
});
const arbSlices = fc.array(fc.array(arbEndpoint, { maxLength: 3 }), { minLength: 1, maxLength: 2 });
const arbSlotChange = fc.oneof(
  fc.constant({ kind: "keep" as const }),
  fc.record({ kind: fc.constant("service" as const), svc: arbService }),
  fc.record({ kind: fc.constant("slices" as const), slices: arbSlices }),
  fc.constant({ kind: "clone" as const }),
  fc.constant({ kind: "remove" as const }),
);
const arbStep = fc.record({
  slots: fc.array(arbSlotChange, { minLength: 4, maxLength: 4 }),
  clusterCIDR: fc.boolean(),
  nodeName: fc.constantFrom("node-a", "node-a", "node-b"),
});

type ServiceModel = fc.Infer<typeof arbService>;
interface Slot {
  model?: ServiceModel;
  svc?: Service;
  slices: EndpointSlice[];
}

const CONDITIONS = {
  ready: { ready: true },
  terminating: { ready: false, serving: true, terminating: true },
  gone: { ready: false },
};

function toService(m: ServiceModel, slot: number): Service {
  const ports = m.ports.map((p, j) => ({
    ...(p.name === "" ? {} : { name: p.name }),
    port: p.port,
    protocol: p.protocol,
    ...(m.nodePort ? { nodePort: 30000 + slot * 10 + j } : {}),
  }));
  return deepFreeze(
    service(m.name, m.clusterIP, ports, {
      type: m.nodePort ? "NodePort" : "ClusterIP",
      externalTrafficPolicy: m.eTPLocal ? "Local" : "Cluster",
      internalTrafficPolicy: m.iTPLocal ? "Local" : "Cluster",
      sessionAffinity: m.affinity > 0 ? "ClientIP" : "None",
      ...(m.affinity > 0 ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: m.affinity } } } : {}),
    }),
  );
}

function toSlices(m: ServiceModel, slot: number, lists: fc.Infer<typeof arbSlices>): EndpointSlice[] {
  return lists.map((eps, k) =>
    deepFreeze(
      slice(
        `${m.name}-${slot}-${k}`,
        m.name,
        eps.map((e) => ep(e.ip, e.node, CONDITIONS[e.state])),
        m.ports.map((p) => ({
          ...(p.name === "" ? {} : { name: p.name }),
          port: 8000 + p.port,
          protocol: p.protocol,
        })),
      ),
    ),
  );
}

const clone = <T>(o: T): T => deepFreeze(structuredClone(o));

function check(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected)
    throw new Error(`${what} differs:\n--- cached\n${String(actual)}\n--- fresh\n${String(expected)}`);
}

t.test("a cached build equals a fresh one after random changes", (t) => {
  let checks = 0;
  fc.assert(
    fc.property(fc.array(arbStep, { minLength: 2, maxLength: 6 }), (steps) => {
      const cache = new RulesetCache();
      const slots: Slot[] = Array.from({ length: 4 }, () => ({ slices: [] }));
      let prevCached: Ruleset | undefined;
      let prevFresh: Ruleset | undefined;
      let prevText = "";
      for (const step of steps) {
        step.slots.forEach((change, i) => {
          const slot = slots[i] as Slot;
          if (change.kind === "service") {
            slot.model = change.svc;
            slot.svc = toService(change.svc, i);
          } else if (change.kind === "slices" && slot.model !== undefined) {
            slot.slices = toSlices(slot.model, i, change.slices);
          } else if (change.kind === "clone") {
            if (slot.svc !== undefined) slot.svc = clone(slot.svc);
            slot.slices = slot.slices.map(clone);
          } else if (change.kind === "remove") {
            slot.svc = undefined;
          }
        });
        const services = slots.flatMap((s) => (s.svc === undefined ? [] : [s.svc]));
        const slices = slots.flatMap((s) => s.slices);
        const inp: ProxyRulesInput = input(
          services,
          slices,
          step.clusterCIDR ? { clusterCIDR: "10.244.0.0/16" } : {},
          step.nodeName,
        );
        const cached = buildRuleset(inp, cache);
        const fresh = buildRuleset(inp);
        check("full sync", renderFullSync(cached), renderFullSync(fresh));
        check("service ports", JSON.stringify(cached.servicePorts), JSON.stringify(fresh.servicePorts));
        if (prevCached !== undefined && prevFresh !== undefined) {
          check("previous build", renderFullSync(prevCached), prevText);
          check("partial sync", renderPartialSync(prevCached, cached), renderPartialSync(prevFresh, fresh));
        }
        prevCached = cached;
        prevFresh = fresh;
        prevText = renderFullSync(cached);
        checks++;
      }
    }),
    { numRuns: 100 },
  );
  t.ok(checks > 0, `${checks} cached builds equal fresh ones`);
  t.end();
});

t.test("the cache reuses unchanged Services and forgets removed ones", (t) => {
  const cache = new RulesetCache();
  const web = deepFreeze(service("web", "10.96.0.20", [{ name: "http", port: 80, protocol: "TCP" }]));
  const db = deepFreeze(service("db", "10.96.0.21", [{ name: "pg", port: 5432, protocol: "TCP" }]));
  const webSlice = deepFreeze(
    slice("web-1", "web", [ep("10.244.0.5")], [{ name: "http", port: 8080, protocol: "TCP" }]),
  );
  const dbSlice = deepFreeze(
    slice("db-1", "db", [ep("10.244.0.6")], [{ name: "pg", port: 5432, protocol: "TCP" }]),
  );
  const a = buildRuleset(input([web, db], [webSlice, dbSlice]), cache);
  t.equal(cache.size, 2);
  const dbSlice2 = deepFreeze(
    slice("db-1", "db", [ep("10.244.0.7")], [{ name: "pg", port: 5432, protocol: "TCP" }]),
  );
  const b = buildRuleset(input([web, db], [webSlice, dbSlice2]), cache);
  const webChain = [...a.chains.keys()].find((n) => n.startsWith("service-") && n.includes("/web/"));
  const dbChain = [...a.chains.keys()].find((n) => n.startsWith("service-") && n.includes("/db/"));
  t.ok(webChain !== undefined && dbChain !== undefined);
  t.equal(a.chains.get(webChain as string), b.chains.get(webChain as string), "unchanged chain reused");
  t.not(a.chains.get(dbChain as string), b.chains.get(dbChain as string), "changed Service rebuilt");
  const partial = renderPartialSync(a, b) ?? "";
  t.notMatch(partial, "/web/", "the partial sync leaves the unchanged Service alone");
  t.match(partial, "10.244.0.7");
  buildRuleset(input([web], [webSlice]), cache);
  t.equal(cache.size, 1, "a removed Service's fragment is dropped");
  const c = buildRuleset(input([web], [webSlice], {}, "node-b"), cache);
  t.not(c.chains.get(webChain as string), b.chains.get(webChain as string), "a new node name rebuilds all");
  t.end();
});
