/**
 * What a namespace uses of a quota's resources (kube's quota.CalculateUsage with the registry of
 * evaluators), read through the API: @skiff/api's calculateUsage, the same computation the API
 * server's ResourceQuota admission starts a new quota with, over the objects of every kind the
 * quota tracks (full objects for pods and services, whose spec counts; metadata only for the
 * kinds that are only counted).
 */
import {
  apiVersionOf,
  calculateUsage as calculateUsageOf,
  ignoredByQuota,
  type KindDef,
  type KubeObject,
  matchingResources,
  parseQuantity,
  Registry,
} from "@skiff/api";
import type { ClientInterface } from "@skiff/client";
import type { ResourceList, ResourceQuota } from "./types.js";

const registry = new Registry();

/** The kinds quota can count: namespaced, listable, not ignored (kube's DefaultIgnoredResources). */
export const quotableKinds: readonly KindDef[] = registry.kinds.filter(
  (k) => !ignoredByQuota(k) && (k.verbs === undefined || k.verbs.includes("list")),
);

/** Whether an evaluator tracks any of these resource names (kube: evaluator.MatchingResources). */
export function anyEvaluatorMatches(names: string[]): boolean {
  return quotableKinds.some((k) => matchingResources(k, names).length > 0);
}

/** Kinds whose usage depends on their spec, so that counting them needs full objects. */
const needsSpec = (k: KindDef) => k.group === "" && (k.kind === "Pod" || k.kind === "Service");

/** kube's quota.Equals: the same names with equal quantities. */
export function quantitiesEqual(a: ResourceList | undefined, b: ResourceList | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => b[k] !== undefined && parseQuantity(String(a[k])) === parseQuantity(String(b[k])));
}

/**
 * kube's CalculateUsage (@skiff/api's calculateUsage) over the API: full objects for pods and
 * services, whose spec counts; metadata only for the kinds that are only counted.
 */
export async function calculateUsage(
  client: ClientInterface,
  quota: ResourceQuota,
  hard: ResourceList,
  now: number,
): Promise<ResourceList> {
  const namespace = quota.metadata.namespace as string;
  return calculateUsageOf(quotableKinds, quota, hard, now, async (k) => {
    const apiVersion = apiVersionOf(k);
    const list = needsSpec(k)
      ? await client.resource(apiVersion, k.resource, namespace).list()
      : await client.metadata(apiVersion, k.resource, namespace).list();
    return list.items as KubeObject[];
  });
}
