/**
 * InterPodAffinity, table-driven in the manner of kube's interpodaffinity filtering_test.go and
 * scoring_test.go: required affinity and anti-affinity over hostname and zone, existing pods'
 * anti-affinity, namespaces and namespaceSelector, the first-pod exception, PreFilter extensions
 * (as preemption uses them) and preferred-term scoring.
 */
import type { Affinity, Pod } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import { PodInfo } from "../../src/framework/pod-info.js";
import {
  ErrReasonAffinityRulesNotMatch,
  ErrReasonAntiAffinityRulesNotMatch,
  ErrReasonExistingAntiAffinityRulesNotMatch,
  type InterPodAffinity,
  interPodAffinityArgs,
  New,
} from "../../src/plugins/interpodaffinity/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { HOST, runFilter, runScore, term, weighted, ZONE } from "./topology-helpers.js";

const AFF = `UnschedulableAndUnresolvable: ${ErrReasonAffinityRulesNotMatch}`;
const ANTI = `Unschedulable: ${ErrReasonAntiAffinityRulesNotMatch}`;
const EXISTING = `Unschedulable: ${ErrReasonExistingAntiAffinityRulesNotMatch}`;

/** Three nodes: n1 and n2 in zone a, n3 in zone b; n4 (when asked) has no zone label. */
function cluster(placed: Record<string, Pod[]>, withUnzoned = false) {
  const nodes = [
    makeNode("n1", { labels: { [ZONE]: "a" } }),
    makeNode("n2", { labels: { [ZONE]: "a" } }),
    makeNode("n3", { labels: { [ZONE]: "b" } }),
    ...(withUnzoned ? [makeNode("n4")] : []),
  ];
  return nodes.map((n) =>
    nodeInfo(
      n,
      ...(placed[n.metadata.name] ?? []).map((p) => ({
        ...p,
        spec: { ...p.spec, nodeName: n.metadata.name },
      })),
    ),
  );
}

const withAffinity = (
  name: string,
  affinity: Affinity,
  labels?: Record<string, string>,
  namespace?: string,
) =>
  makePod(name, {
    spec: { affinity },
    ...(labels === undefined ? {} : { labels }),
    ...(namespace ? { namespace } : {}),
  });

const req = (...terms: ReturnType<typeof term>[]) => ({
  requiredDuringSchedulingIgnoredDuringExecution: terms,
});

t.test("Filter: required affinity and anti-affinity", async (t) => {
  const web = (name: string, ns?: string) =>
    makePod(name, { labels: { app: "web" }, ...(ns ? { namespace: ns } : {}) });
  const cases: {
    name: string;
    pod: Pod;
    placed: Record<string, Pod[]>;
    unzoned?: boolean;
    nsLabels?: Record<string, Record<string, string>>;
    want: Record<string, string>;
  }[] = [
    {
      name: "a pod without affinity, no existing anti-affinity: PreFilter skips",
      pod: makePod("p"),
      placed: { n1: [web("w")] },
      want: { n1: "skip", n2: "skip", n3: "skip" },
    },
    {
      name: "affinity on hostname: only the node holding a matching pod",
      pod: withAffinity("p", { podAffinity: req(term({ app: "web" }, HOST)) }),
      placed: { n1: [web("w")] },
      want: { n1: "ok", n2: AFF, n3: AFF },
    },
    {
      name: "affinity on zone: every node of the matching pod's zone",
      pod: withAffinity("p", { podAffinity: req(term({ app: "web" }, ZONE)) }),
      placed: { n1: [web("w")] },
      unzoned: true,
      want: { n1: "ok", n2: "ok", n3: AFF, n4: AFF },
    },
    {
      name: "affinity with no match anywhere, pod matches its own term: nodes with the key",
      pod: withAffinity("p", { podAffinity: req(term({ app: "db" }, ZONE)) }, { app: "db" }),
      placed: { n1: [web("w")] },
      unzoned: true,
      want: { n1: "ok", n2: "ok", n3: "ok", n4: AFF },
    },
    {
      name: "affinity with no match anywhere, pod does not match its own term: nowhere",
      pod: withAffinity("p", { podAffinity: req(term({ app: "db" }, ZONE)) }),
      placed: { n1: [web("w")] },
      want: { n1: AFF, n2: AFF, n3: AFF },
    },
    {
      name: "two affinity terms: one existing pod must match both",
      pod: withAffinity("p", { podAffinity: req(term({ app: "web" }, ZONE), term({ tier: "x" }, HOST)) }),
      placed: { n1: [web("w")], n2: [makePod("x", { labels: { tier: "x" } })] },
      want: { n1: AFF, n2: AFF, n3: AFF },
    },
    {
      name: "anti-affinity on hostname: not beside a matching pod",
      pod: withAffinity("p", { podAntiAffinity: req(term({ app: "web" }, HOST)) }),
      placed: { n1: [web("w")] },
      want: { n1: ANTI, n2: "ok", n3: "ok" },
    },
    {
      name: "anti-affinity on zone: not in the matching pod's zone",
      pod: withAffinity("p", { podAntiAffinity: req(term({ app: "web" }, ZONE)) }),
      placed: { n2: [web("w")] },
      unzoned: true,
      want: { n1: ANTI, n2: ANTI, n3: "ok", n4: "ok" },
    },
    {
      name: "existing pod's anti-affinity repels the incoming pod from its zone",
      pod: makePod("p", { labels: { app: "web" } }),
      placed: {
        n3: [withAffinity("guard", { podAntiAffinity: req(term({ app: "web" }, ZONE)) }, { app: "guard" })],
      },
      want: { n1: "ok", n2: "ok", n3: EXISTING },
    },
    {
      name: "existing pod's anti-affinity in another namespace does not see the pod: skip",
      pod: makePod("p", { labels: { app: "web" } }),
      placed: {
        n3: [withAffinity("guard", { podAntiAffinity: req(term({ app: "web" }, HOST)) }, {}, "other")],
      },
      want: { n1: "skip", n2: "skip", n3: "skip" },
    },
    {
      name: "term namespaces: a matching pod in an unnamed namespace does not count",
      pod: withAffinity("p", { podAffinity: req(term({ app: "web" }, HOST, { namespaces: ["prod"] })) }),
      placed: { n1: [web("w")], n2: [web("w2", "prod")] },
      want: { n1: AFF, n2: "ok", n3: AFF },
    },
    {
      name: "namespaceSelector selects namespaces by their labels",
      pod: withAffinity("p", {
        podAntiAffinity: req(
          term({ app: "web" }, HOST, { namespaceSelector: { matchLabels: { team: "a" } } }),
        ),
      }),
      placed: { n1: [web("w1", "team-a")], n2: [web("w2", "team-b")] },
      nsLabels: { "team-a": { team: "a" }, "team-b": { team: "b" } },
      want: { n1: ANTI, n2: "ok", n3: "ok" },
    },
    {
      name: "empty namespaceSelector selects every namespace",
      pod: withAffinity("p", { podAntiAffinity: req(term({ app: "web" }, HOST, { namespaceSelector: {} })) }),
      placed: { n1: [web("w1", "x")], n2: [web("w2", "y")] },
      want: { n1: ANTI, n2: ANTI, n3: "ok" },
    },
  ];
  for (const c of cases) {
    const handle = fakeHandle(cluster(c.placed, c.unzoned), {
      namespaceLabels: (ns) => c.nsLabels?.[ns],
    });
    const { outcome } = runFilter(New(undefined, handle) as InterPodAffinity, handle, c.pod);
    t.same(Object.fromEntries(outcome), c.want, c.name);
  }
});

t.test("PreFilterExtensions: removing and adding pods as preemption does", async (t) => {
  const victim = makePod("victim", { labels: { app: "web" }, nodeName: "n1" });
  const handle = fakeHandle(cluster({ n1: [victim] }));
  const pl = New(undefined, handle) as InterPodAffinity;
  const pod = withAffinity("p", { podAntiAffinity: req(term({ app: "web" }, ZONE)) });
  const { state, outcome } = runFilter(pl, handle, pod);
  t.equal(outcome.get("n1"), ANTI);
  const n1 = handle.snapshotSharedLister().nodeInfos().get("n1");
  if (n1 === undefined) throw new Error("n1");
  const copy = state.clone();
  const ni = n1.clone();
  const pi = ni.pods[0] as PodInfo;
  ni.removePod(pi.uid);
  t.equal(pl.removePod(copy, pod, pi, ni), undefined);
  t.equal(pl.filter(copy, pod, ni), undefined, "fits once the matching pod is removed");
  t.equal(
    pl.filter(state, pod, n1)?.message(),
    ErrReasonAntiAffinityRulesNotMatch,
    "the original state is untouched",
  );
  ni.addPod(pi);
  t.equal(pl.addPod(copy, pod, pi, ni), undefined);
  t.equal(
    pl.filter(copy, pod, ni)?.message(),
    ErrReasonAntiAffinityRulesNotMatch,
    "and rejected once it is back",
  );

  // An existing pod's anti-affinity towards the incoming pod, removed.
  const guard = withAffinity("guard", { podAntiAffinity: req(term({ app: "web" }, HOST)) });
  const h2 = fakeHandle(cluster({ n2: [guard] }));
  const pl2 = New(undefined, h2) as InterPodAffinity;
  const incoming = makePod("w", { labels: { app: "web" } });
  const r = runFilter(pl2, h2, incoming);
  t.equal(r.outcome.get("n2"), EXISTING);
  const n2 = h2.snapshotSharedLister().nodeInfos().get("n2")?.clone();
  if (n2 === undefined) throw new Error("n2");
  const gpi = n2.pods[0] as PodInfo;
  n2.removePod(gpi.uid);
  pl2.removePod(r.state, incoming, gpi, n2);
  t.equal(pl2.filter(r.state, incoming, n2), undefined);

  // A missing state is an error, unless the runtime recorded that PreFilter skipped.
  const empty = new CycleState();
  t.equal(pl.addPod(empty, pod, pi, ni)?.codeName(), "Error");
  empty.skipFilterPlugins.add("InterPodAffinity");
  t.equal(pl.addPod(empty, pod, pi, ni), undefined);
});

t.test("Score: preferred terms both ways, normalized to 0..100", async (t) => {
  const web = makePod("w", { labels: { app: "web" } });
  const cases: {
    name: string;
    pod: Pod;
    placed: Record<string, Pod[]>;
    args?: Record<string, unknown>;
    want?: Record<string, number>;
  }[] = [
    {
      name: "no affinity anywhere: PreScore skips",
      pod: makePod("p"),
      placed: { n1: [web] },
      want: undefined,
    },
    {
      name: "preferred affinity on zone",
      pod: withAffinity("p", {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [weighted(5, term({ app: "web" }, ZONE))],
        },
      }),
      placed: { n3: [web] },
      want: { n1: 0, n2: 0, n3: 100 },
    },
    {
      name: "preferred anti-affinity on zone",
      pod: withAffinity("p", {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [weighted(5, term({ app: "web" }, ZONE))],
        },
      }),
      placed: { n1: [web] },
      want: { n1: 0, n2: 0, n3: 100 },
    },
    {
      name: "affinity and anti-affinity weights add up per node",
      pod: withAffinity("p", {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [weighted(4, term({ app: "web" }, ZONE))],
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [weighted(1, term({ app: "web" }, HOST))],
        },
      }),
      placed: { n1: [web] },
      // n1: 4 - 1 = 3, n2: 4, n3: 0 -> min 0, max 4.
      want: { n1: 75, n2: 100, n3: 0 },
    },
    {
      name: "an existing pod's required affinity to the pod counts hardPodAffinityWeight",
      pod: makePod("p", { labels: { app: "db" } }),
      placed: { n3: [withAffinity("x", { podAffinity: req(term({ app: "db" }, ZONE)) })] },
      want: { n1: 0, n2: 0, n3: 100 },
    },
    {
      name: "hardPodAffinityWeight 0 turns that off",
      pod: makePod("p", { labels: { app: "db" } }),
      placed: { n3: [withAffinity("x", { podAffinity: req(term({ app: "db" }, ZONE)) })] },
      args: { hardPodAffinityWeight: 0 },
      want: undefined,
    },
    {
      name: "an existing pod's preferred anti-affinity repels",
      pod: makePod("p", { labels: { app: "db" } }),
      placed: {
        n1: [
          withAffinity("x", {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [weighted(10, term({ app: "db" }, HOST))],
            },
          }),
        ],
      },
      want: { n1: 0, n2: 100, n3: 100 },
    },
    {
      name: "ignorePreferredTermsOfExistingPods: a pod without preferred terms is not scored",
      pod: makePod("p", { labels: { app: "db" } }),
      placed: { n3: [withAffinity("x", { podAffinity: req(term({ app: "db" }, ZONE)) })] },
      args: { ignorePreferredTermsOfExistingPods: true },
      want: undefined,
    },
  ];
  for (const c of cases) {
    const handle = fakeHandle(cluster(c.placed));
    const got = runScore(New(c.args, handle) as InterPodAffinity, handle, c.pod);
    t.same(got, c.want, c.name);
  }
});

t.test("args: defaults and validation as ValidateInterPodAffinityArgs", async (t) => {
  t.same(interPodAffinityArgs(undefined), {
    hardPodAffinityWeight: 1,
    ignorePreferredTermsOfExistingPods: false,
  });
  t.throws(() => interPodAffinityArgs({ hardPodAffinityWeight: 101 }), /not in valid range \[0, 100\]/);
  t.throws(() => interPodAffinityArgs({ hardPodAffinityWeight: -1 }), /not in valid range/);
});

t.test("queueing hints", async (t) => {
  const handle = fakeHandle([]);
  const pl = New(undefined, handle) as InterPodAffinity;
  const [podEvents, nodeEvents] = pl.eventsToRegister();
  const pod = withAffinity("p", {
    podAffinity: req(term({ app: "web" }, ZONE)),
    podAntiAffinity: req(term({ app: "db" }, HOST)),
  });
  const hint = podEvents?.queueingHintFn;
  const nodeHint = nodeEvents?.queueingHintFn;
  if (hint === undefined || nodeHint === undefined) throw new Error("hints");
  const bound = (labels: Record<string, string>) => makePod("e", { labels, nodeName: "n1" });
  t.equal(hint(pod, undefined, bound({ app: "web" })), "Queue", "a matching pod was added");
  t.equal(hint(pod, undefined, bound({ app: "x" })), "QueueSkip", "an unrelated pod was added");
  t.equal(hint(pod, undefined, makePod("u", { labels: { app: "web" } })), "QueueSkip", "an unscheduled pod");
  t.equal(hint(pod, bound({ app: "db" }), undefined), "Queue", "a pod the anti-affinity avoided was deleted");
  t.equal(hint(pod, bound({ app: "x" }), bound({ app: "web" })), "Queue", "relabelled to match affinity");
  t.equal(nodeHint(pod, undefined, makeNode("n", { labels: { [ZONE]: "a" } })), "Queue");
  t.equal(nodeHint(pod, undefined, { metadata: { name: "bare", labels: {} } }), "QueueSkip");
});

t.test("consecutive pods: per-node matches follow the nodes' pods (NodeMatchCache)", async (t) => {
  const handle = fakeHandle(cluster({}));
  const pl = New(undefined, handle) as InterPodAffinity;
  const pod = () =>
    withAffinity(
      "p",
      {
        podAntiAffinity: req(term({ app: "web" }, HOST)),
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [weighted(3, term({ app: "web" }, ZONE))],
        },
      },
      { app: "web" },
    );
  t.same(Object.fromEntries(runFilter(pl, handle, pod()).outcome), { n1: "ok", n2: "ok", n3: "ok" });
  t.equal(runScore(pl, handle, pod()), undefined, "nothing to prefer yet");
  // The first pod lands on n1 (as the cache would record it); the second must avoid n1.
  handle
    .snapshotSharedLister()
    .nodeInfos()
    .get("n1")
    ?.addPod(new PodInfo({ ...pod(), spec: { ...pod().spec, nodeName: "n1" } }));
  t.same(Object.fromEntries(runFilter(pl, handle, pod()).outcome), { n1: ANTI, n2: "ok", n3: "ok" });
  t.same(runScore(pl, handle, pod()), { n1: 100, n2: 100, n3: 0 }, "zone a is preferred now");
});
