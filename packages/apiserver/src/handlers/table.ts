/**
 * meta.k8s.io/v1 Table responses (`kubectl get` asks for them): NAME, the kind's columns, AGE,
 * each row carrying the object's metadata as PartialObjectMetadata.
 */
import { age, ageColumn, type KindDef, type KubeObject, nameColumn } from "@skiff/api";

export function toTable(
  k: KindDef,
  items: readonly KubeObject[],
  listMeta: Record<string, unknown>,
  now: Date,
) {
  const columns = [nameColumn, ...k.table.columns, ...(k.table.noAge ? [] : [ageColumn])];
  // Keep the priority-0 columns first, as kube-apiserver's printers do (AGE before wide columns).
  const ordered = [...columns.filter((c) => c.priority === 0), ...columns.filter((c) => c.priority > 0)];
  const index = ordered.map((c) => columns.indexOf(c));
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: ordered,
    rows: items.map((obj) => {
      const cells = [
        obj.metadata.name,
        ...k.table.cells(obj, now),
        ...(k.table.noAge ? [] : [age(obj.metadata.creationTimestamp, now)]),
      ];
      return {
        cells: index.map((i) => cells[i]),
        object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata },
      };
    }),
  };
}
