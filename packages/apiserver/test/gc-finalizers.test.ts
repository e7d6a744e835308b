/**
 * The finalizers a DELETE's propagation policy leaves on an object (kube's
 * deletionFinalizersForGarbageCollection, as planDelete applies it): the garbage collector's two
 * finalizers replaced by the one asked for, also on an object already being deleted.
 */
import type { KubeObject } from "@skiff/api";
import t from "tap";
import { planDelete } from "../src/registry/graceful.js";
import type { DeleteOptions } from "../src/registry/store.js";
import type { Strategy } from "../src/registry/strategy.js";

const now = new Date("2026-01-01T00:00:00Z");
const plain = {} as Strategy; // a kind without graceful deletion (a ConfigMap)

function cm(finalizers?: string[], deleting = false): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "x",
      namespace: "ns",
      ...(finalizers === undefined ? {} : { finalizers }),
      ...(deleting ? { deletionTimestamp: "2025-12-31T00:00:00Z", deletionGracePeriodSeconds: 0 } : {}),
    },
  };
}

const finalizersAfter = (o: KubeObject, opts: DeleteOptions) => {
  const plan = planDelete(plain, o, opts, now);
  return plan.deleteNow ? "deleted" : plan.marked?.metadata.finalizers;
};

t.test("policies on an object not being deleted", async (t) => {
  t.equal(finalizersAfter(cm(), {}), "deleted", "no policy: Background, gone at once");
  t.equal(finalizersAfter(cm(), { propagationPolicy: "Background" }), "deleted");
  t.same(finalizersAfter(cm(), { propagationPolicy: "Foreground" }), ["foregroundDeletion"]);
  t.same(finalizersAfter(cm(), { propagationPolicy: "Orphan" }), ["orphan"]);
  t.same(finalizersAfter(cm(), { orphanDependents: true }), ["orphan"], "the deprecated field");
  t.same(finalizersAfter(cm(["a"]), { propagationPolicy: "Foreground" }), ["a", "foregroundDeletion"]);
  t.same(
    finalizersAfter(cm(["orphan"]), { propagationPolicy: "Foreground" }),
    ["foregroundDeletion"],
    "replaced",
  );
  t.equal(finalizersAfter(cm(["orphan"]), { propagationPolicy: "Background" }), "deleted", "dropped");
  t.same(finalizersAfter(cm(["orphan"]), {}), ["orphan"], "no policy: the object's own finalizer stands");
});

t.test("policies on an object already being deleted", async (t) => {
  t.same(finalizersAfter(cm(["hold"], true), { propagationPolicy: "Foreground" }), [
    "hold",
    "foregroundDeletion",
  ]);
  t.same(finalizersAfter(cm(["foregroundDeletion"], true), { propagationPolicy: "Orphan" }), ["orphan"]);
  t.equal(finalizersAfter(cm(["orphan"], true), { propagationPolicy: "Background" }), "deleted");
  const kept = planDelete(plain, cm(["hold", "orphan"], true), {}, now);
  t.same(kept.marked?.metadata.finalizers, ["hold", "orphan"]);
  t.equal(kept.marked?.metadata.deletionTimestamp, "2025-12-31T00:00:00Z", "the deletion time stays");
});
