/** VolumeBinding for already-bound claims, after kube's volumebinding/volume_binding_test.go. */
import type { NodeSelector, PersistentVolumeClaim, Pod, Volume } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import type { Handle } from "../../src/framework/interface.js";
import {
  ErrReasonNodeConflict,
  ErrReasonPVNotExist,
  ErrReasonUnboundImmediate,
  isSchedulableAfterPersistentVolumeClaimChange,
  New,
  type VolumeBinding,
} from "../../src/plugins/volumebinding/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { describe, runFilter, success, unresolvable } from "./util.js";

type Claim = { volumeName?: string; phase?: string; deletionTimestamp?: string };
type Volume_ = { nodeAffinity?: { required?: NodeSelector } };

/** A plugin over fixed claims ("namespace/name") and volumes (by name). */
function plugin(claims: Record<string, Claim>, volumes: Record<string, Volume_> = {}): VolumeBinding {
  const overrides: Partial<Handle> = {
    pvc: (ns, name) => claims[`${ns}/${name}`],
    pv: (name) => volumes[name],
  };
  return New(undefined, fakeHandle([], overrides)) as VolumeBinding;
}

const pvcVolume = (name: string, claimName: string): Volume => ({
  name,
  persistentVolumeClaim: { claimName },
});
const ephemeralVolume = (name: string): Volume => ({
  name,
  ephemeral: { volumeClaimTemplate: { spec: {} } },
});
const podWithVolumes = (...volumes: Volume[]): Pod => makePod("pod-a", { spec: { volumes } });

const zoneAffinity = (...zones: string[]): Volume_ => ({
  nodeAffinity: {
    required: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In", values: zones }] },
      ],
    },
  },
});
const zoneNode = (name: string, zone: string) =>
  nodeInfo(makeNode(name, { labels: { "topology.kubernetes.io/zone": zone } }));

t.test("PreFilter", async (t) => {
  const cases: {
    name: string;
    pod: Pod;
    claims: Record<string, Claim>;
    volumes?: Record<string, Volume_>;
    want: unknown;
  }[] = [
    { name: "pod has not pvcs", pod: makePod("pod-a"), claims: {}, want: { code: "Skip", reasons: [] } },
    {
      name: "a volume that is not a claim is ignored",
      pod: podWithVolumes({ name: "cfg", configMap: { name: "x" } }),
      claims: {},
      want: { code: "Skip", reasons: [] },
    },
    {
      name: "pvc not found",
      pod: podWithVolumes(pvcVolume("data", "pvc-a")),
      claims: {},
      want: unresolvable('persistentvolumeclaim "pvc-a" not found'),
    },
    {
      name: "generic ephemeral volume whose claim is not created yet",
      pod: podWithVolumes(ephemeralVolume("scratch")),
      claims: {},
      want: unresolvable(
        'waiting for ephemeral volume controller to create the persistentvolumeclaim "pod-a-scratch"',
      ),
    },
    {
      name: "unbound claim",
      pod: podWithVolumes(pvcVolume("data", "pvc-a")),
      claims: { "default/pvc-a": { phase: "Pending" } },
      want: unresolvable(ErrReasonUnboundImmediate),
    },
    {
      name: "one of two claims unbound",
      pod: podWithVolumes(pvcVolume("a", "pvc-a"), pvcVolume("b", "pvc-b")),
      claims: {
        "default/pvc-a": { volumeName: "pv-a", phase: "Bound" },
        "default/pvc-b": { phase: "Pending" },
      },
      volumes: { "pv-a": {} },
      want: unresolvable(ErrReasonUnboundImmediate),
    },
    {
      name: "a missing claim is reported before an unbound one",
      pod: podWithVolumes(pvcVolume("a", "pvc-a"), pvcVolume("b", "pvc-b")),
      claims: { "default/pvc-a": { phase: "Pending" } },
      want: unresolvable('persistentvolumeclaim "pvc-b" not found'),
    },
    {
      name: "claim lost",
      pod: podWithVolumes(pvcVolume("data", "pvc-a")),
      claims: { "default/pvc-a": { volumeName: "pv-a", phase: "Lost" } },
      want: unresolvable('persistentvolumeclaim "pvc-a" bound to non-existent persistentvolume "pv-a"'),
    },
    {
      name: "claim being deleted",
      pod: podWithVolumes(pvcVolume("data", "pvc-a")),
      claims: {
        "default/pvc-a": { volumeName: "pv-a", phase: "Bound", deletionTimestamp: "2024-01-01T00:00:00Z" },
      },
      want: unresolvable('persistentvolumeclaim "pvc-a" is being deleted'),
    },
    {
      name: "all bound",
      pod: podWithVolumes(pvcVolume("data", "pvc-a"), ephemeralVolume("scratch")),
      claims: {
        "default/pvc-a": { volumeName: "pv-a", phase: "Bound" },
        "default/pod-a-scratch": { volumeName: "pv-b", phase: "Bound" },
      },
      volumes: { "pv-a": {}, "pv-b": {} },
      want: success,
    },
  ];
  for (const tc of cases) {
    const r = plugin(tc.claims, tc.volumes).preFilter(new CycleState(), tc.pod);
    t.same(describe(r.status), tc.want, tc.name);
    t.equal(r.result, undefined, `${tc.name}: no PreFilterResult`);
  }
});

t.test("Filter: the bound volumes' node affinity", async (t) => {
  const pod = podWithVolumes(pvcVolume("a", "pvc-a"), pvcVolume("b", "pvc-b"));
  const bound = {
    "default/pvc-a": { volumeName: "pv-a", phase: "Bound" },
    "default/pvc-b": { volumeName: "pv-b", phase: "Bound" },
  };
  const nodes = () => [zoneNode("node-a", "a"), zoneNode("node-b", "b")];
  const cases: { name: string; volumes: Record<string, Volume_>; want: [unknown, unknown] }[] = [
    {
      name: "volumes without node affinity fit anywhere",
      volumes: { "pv-a": {}, "pv-b": {} },
      want: [success, success],
    },
    {
      name: "a volume in zone a",
      volumes: { "pv-a": zoneAffinity("a"), "pv-b": {} },
      want: [success, unresolvable(ErrReasonNodeConflict)],
    },
    {
      name: "volumes in zones a and b conflict everywhere",
      volumes: { "pv-a": zoneAffinity("a"), "pv-b": zoneAffinity("b") },
      want: [unresolvable(ErrReasonNodeConflict), unresolvable(ErrReasonNodeConflict)],
    },
    {
      name: "a bound volume that does not exist",
      volumes: { "pv-a": {} },
      want: [unresolvable(ErrReasonPVNotExist), unresolvable(ErrReasonPVNotExist)],
    },
    {
      name: "the first failing volume decides the reason",
      volumes: { "pv-a": zoneAffinity("a") },
      want: [unresolvable(ErrReasonPVNotExist), unresolvable(ErrReasonNodeConflict)],
    },
    {
      // volume.CheckNodeAffinity matches the node's labels only, so metadata.name fields pass.
      name: "matchFields on metadata.name are not checked",
      volumes: {
        "pv-a": {
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchFields: [{ key: "metadata.name", operator: "In", values: ["elsewhere"] }] },
              ],
            },
          },
        },
        "pv-b": {},
      },
      want: [success, success],
    },
  ];
  for (const tc of cases) {
    const { preFilter, statuses } = runFilter(plugin(bound, tc.volumes), pod, nodes());
    t.same(describe(preFilter?.status), success, `${tc.name}: PreFilter`);
    t.same([describe(statuses.get("node-a")), describe(statuses.get("node-b"))], tc.want, tc.name);
  }
  t.equal(
    describe(plugin({}).filter(new CycleState(), pod, zoneNode("n", "a"))).code,
    "Error",
    "Filter without PreFilter",
  );
});

t.test("a claim the pod uses requeues it", async (t) => {
  const pod = podWithVolumes(pvcVolume("data", "pvc-a"), ephemeralVolume("scratch"));
  const pvc = (namespace: string, name: string): PersistentVolumeClaim => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { namespace, name },
  });
  t.equal(isSchedulableAfterPersistentVolumeClaimChange(pod, undefined, pvc("default", "pvc-a")), "Queue");
  t.equal(
    isSchedulableAfterPersistentVolumeClaimChange(pod, undefined, pvc("default", "pod-a-scratch")),
    "Queue",
  );
  t.equal(
    isSchedulableAfterPersistentVolumeClaimChange(pod, undefined, pvc("default", "pvc-b")),
    "QueueSkip",
  );
  t.equal(isSchedulableAfterPersistentVolumeClaimChange(pod, undefined, pvc("other", "pvc-a")), "QueueSkip");
  t.same(
    plugin({})
      .eventsToRegister()
      .map((e) => e.event.resource),
    ["StorageClass", "PersistentVolumeClaim", "PersistentVolume", "Node"],
  );
});
