/** core/v1 ResourceQuota as the resource quota controller reads and writes it. */
import type { KubeObject } from "@skiff/api";

export type ResourceList = Record<string, string>;

export interface ResourceQuota extends KubeObject {
  spec?: {
    hard?: ResourceList;
    scopes?: string[];
    scopeSelector?: { matchExpressions?: { scopeName: string; operator: string; values?: string[] }[] };
  };
  status?: { hard?: ResourceList; used?: ResourceList };
}
