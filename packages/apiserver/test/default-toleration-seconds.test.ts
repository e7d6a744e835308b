/**
 * The DefaultTolerationSeconds admission plugin (kube's defaulttolerationseconds admission_test
 * cases): which pods get the not-ready and unreachable NoExecute tolerations, with the flags'
 * seconds, and which are left alone; and the two flags of `skiff server`.
 */
import { type KindDef, type KubeObject, Registry } from "@skiff/api";
import t from "tap";
import { DefaultTolerationSeconds } from "../src/admission/default-toleration-seconds.js";
import type { Attributes, Operation } from "../src/admission/interface.js";
import { parseServerFlags } from "../src/options.js";

const registry = new Registry();
const pods = registry.resource("", "v1", "pods") as KindDef;
const configmaps = registry.resource("", "v1", "configmaps") as KindDef;

interface Tol {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

function pod(tolerations?: Tol[]): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default" },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      ...(tolerations === undefined ? {} : { tolerations }),
    },
  };
}

function attrs(operation: Operation, object: KubeObject, kind = pods, subresource?: string): Attributes {
  return {
    operation,
    kind,
    namespace: "default",
    name: object.metadata.name ?? "p",
    subresource,
    object,
    oldObject: undefined,
    userInfo: undefined,
    dryRun: false,
    writes: [],
  };
}

const notReady = (s = 300) => ({
  key: "node.kubernetes.io/not-ready",
  operator: "Exists",
  effect: "NoExecute",
  tolerationSeconds: s,
});
const unreachable = (s = 300) => ({
  key: "node.kubernetes.io/unreachable",
  operator: "Exists",
  effect: "NoExecute",
  tolerationSeconds: s,
});

async function admitted(p: KubeObject, plugin = new DefaultTolerationSeconds(), op: Operation = "CREATE") {
  await plugin.admit(attrs(op, p));
  return (p.spec as { tolerations?: Tol[] }).tolerations;
}

t.test("a pod without them gets both tolerations of 300 s, after its own", async (t) => {
  t.same(await admitted(pod()), [notReady(), unreachable()]);
  const own = { key: "example.com/x", operator: "Equal", effect: "NoSchedule" };
  t.same(await admitted(pod([own])), [own, notReady(), unreachable()]);
  t.same(
    await admitted(pod(), new DefaultTolerationSeconds(), "UPDATE"),
    [notReady(), unreachable()],
    "on UPDATE too",
  );
});

t.test("a pod already tolerating one keeps its own and gets only the other", async (t) => {
  const mine = {
    key: "node.kubernetes.io/not-ready",
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: 2,
  };
  t.same(await admitted(pod([mine])), [mine, unreachable()]);
  const noEffect = { key: "node.kubernetes.io/unreachable", operator: "Exists" };
  t.same(await admitted(pod([noEffect])), [noEffect, notReady()], "an empty effect tolerates NoExecute");
  const otherEffect = { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoSchedule" };
  t.same(
    await admitted(pod([otherEffect])),
    [otherEffect, notReady(), unreachable()],
    "NoSchedule is not NoExecute",
  );
  const everything = { operator: "Exists" };
  t.same(await admitted(pod([everything])), [everything], "an empty key tolerates both");
  const allNoExecute = { operator: "Exists", effect: "NoExecute" };
  t.same(await admitted(pod([allNoExecute])), [allNoExecute]);
});

t.test("the flags' seconds; other kinds and subresources untouched", async (t) => {
  const plugin = new DefaultTolerationSeconds({ notReadySeconds: 60, unreachableSeconds: 5 });
  t.same(await admitted(pod(), plugin), [notReady(60), unreachable(5)]);
  const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } };
  await plugin.admit(attrs("CREATE", cm, configmaps));
  t.same(cm, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } });
  const p = pod();
  await plugin.admit(attrs("UPDATE", p, pods, "status"));
  t.same((p.spec as { tolerations?: unknown }).tolerations, undefined, "pods/status is not admitted");
  t.ok(plugin.handles("CREATE") && plugin.handles("UPDATE") && !plugin.handles("DELETE"));
});

t.test("--default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds", async (t) => {
  const d = parseServerFlags([]);
  t.equal(d.defaultNotReadyTolerationSeconds, 300);
  t.equal(d.defaultUnreachableTolerationSeconds, 300);
  const o = parseServerFlags([
    "--default-not-ready-toleration-seconds",
    "30",
    "--default-unreachable-toleration-seconds=2",
  ]);
  t.equal(o.defaultNotReadyTolerationSeconds, 30);
  t.equal(o.defaultUnreachableTolerationSeconds, 2);
  t.throws(() => parseServerFlags(["--default-unreachable-toleration-seconds", "x"]), /must be an integer/);
});
