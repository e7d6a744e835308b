/**
 * meta.k8s.io/v1 Table responses (`kubectl get` asks for them): NAME, the kind's columns, AGE,
 * each row carrying the object's metadata as PartialObjectMetadata. Columns keep kube's order
 * (pkg/printers/internalversion/printers.go): AGE goes before the first `-o wide` column.
 */
import { age, ageColumn, type KindDef, type KubeObject, nameColumn } from "@skiff/api";

export function toTable(
  k: KindDef,
  items: readonly KubeObject[],
  listMeta: Record<string, unknown>,
  now: Date,
) {
  const t = k.table;
  const firstWide = t.columns.findIndex((c) => c.priority > 0);
  const ageAt = firstWide < 0 ? t.columns.length : firstWide;
  const withAge = <T>(cols: T[], a: T): T[] =>
    t.noAge ? cols : [...cols.slice(0, ageAt), a, ...cols.slice(ageAt)];
  const columns = [...(t.noName ? [] : [nameColumn]), ...withAge(t.columns, ageColumn)];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: columns,
    rows: items.map((obj) => ({
      cells: [
        ...(t.noName ? [] : [obj.metadata.name]),
        ...withAge(t.cells(obj, now), age(obj.metadata.creationTimestamp, now)),
      ],
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata },
    })),
  };
}
