/**
 * The new kinds' defaults, validation, table cells and conversions never throw, whatever JSON
 * a client sends in their fields (the API server answers 4xx for what they report; a throw would
 * be a 500). fast-check drives random values into every top-level field of each kind.
 */
import fc from "fast-check";
import t from "tap";
import type { KindDef } from "../src/kind.js";
import { horizontalPodAutoscalerKind } from "../src/kinds/autoscaling.js";
import { horizontalPodAutoscalerV1Kind, hpaV1ToV2, hpaV2ToV1 } from "../src/kinds/autoscalingv1.js";
import { certificateSigningRequestKind } from "../src/kinds/certificates.js";
import { controllerRevisionKind } from "../src/kinds/controllerrevision.js";
import { csiDriverKind, csiNodeKind, csiStorageCapacityKind } from "../src/kinds/csi.js";
import { coreToEvents, eventsEventKind, eventsToCore } from "../src/kinds/events.js";
import { runtimeClassKind } from "../src/kinds/node.js";
import { persistentVolumeClaimKind } from "../src/kinds/persistentvolumeclaim.js";
import { priorityClassKind } from "../src/kinds/scheduling.js";
import { storageClassKind } from "../src/kinds/storage.js";
import { persistentVolumeKind } from "../src/kinds/volumes.js";
import type { KubeObject } from "../src/meta.js";
import { allKinds } from "../src/registry.js";

const newKinds: KindDef[] = [
  priorityClassKind,
  storageClassKind,
  csiNodeKind,
  csiDriverKind,
  csiStorageCapacityKind,
  persistentVolumeKind,
  persistentVolumeClaimKind,
  runtimeClassKind,
  eventsEventKind,
  controllerRevisionKind,
  horizontalPodAutoscalerKind,
  horizontalPodAutoscalerV1Kind,
  certificateSigningRequestKind,
];

const now = new Date("2025-01-01T00:00:00Z");

t.test("random field values never make a new kind throw", async (t) => {
  for (const k of newKinds) {
    const fields = Object.keys((k.schema as { properties: Record<string, unknown> }).properties).filter(
      (f) => f !== "apiVersion" && f !== "kind" && f !== "metadata",
    );
    const body = fc.dictionary(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 4 }), {
      maxKeys: fields.length,
    });
    fc.assert(
      fc.property(body, fc.option(body, { nil: undefined }), (b, oldBody) => {
        const make = (x: Record<string, unknown>): KubeObject => ({
          ...x,
          apiVersion: k.group === "" ? k.version : `${k.group}/${k.version}`,
          kind: k.kind,
          metadata: { name: "system-x", namespace: "default", creationTimestamp: "2025-01-01T00:00:00Z" },
        });
        const obj = make(b);
        k.defaults?.(obj);
        const old = oldBody === undefined ? undefined : make(oldBody);
        if (old !== undefined) k.defaults?.(old);
        k.validate?.(obj, old);
        k.table.cells(obj, now);
        if (k === eventsEventKind) coreToEvents(eventsToCore(obj));
        if (k === horizontalPodAutoscalerV1Kind) hpaV2ToV1(hpaV1ToV2(obj));
      }),
      { numRuns: 300, seed: 7 },
    );
    t.pass(`${k.group}/${k.kind}`);
  }
});

t.test("every kind's table cells survive random status and spec", async (t) => {
  for (const k of allKinds) {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), (spec, status) => {
        k.table.cells({ apiVersion: "v1", kind: k.kind, metadata: { name: "a" }, spec, status }, now);
      }),
      { numRuns: 100, seed: 9 },
    );
    t.pass(`${k.group}/${k.kind}`);
  }
});
