/**
 * A status's list of conditions as the apps/v1 and batch/v1 helpers keep it (replicaset's
 * GetCondition / SetCondition / RemoveCondition, deploymentutil's GetDeploymentCondition /
 * SetDeploymentCondition / RemoveDeploymentCondition, job's findConditionByType): at most one
 * condition of each type, a new one appended last.
 */

/** What every kind's condition has (each kind adds its own times and message). */
export interface StatusCondition {
  type: string;
  status: string;
  reason?: string;
}

/** The condition of this type, if any. */
export function getCondition<C extends { type: string }>(
  conditions: readonly C[] | undefined,
  type: string,
): C | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * SetCondition: nothing when the condition of that type already says the same status and
 * reason (so its times keep saying when that was first said); else it replaces the one of its
 * type.
 */
export function setCondition<C extends StatusCondition>(status: { conditions?: C[] }, condition: C): void {
  const current = getCondition(status.conditions, condition.type);
  if (current !== undefined && current.status === condition.status && current.reason === condition.reason)
    return;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), condition];
}

/** RemoveCondition: the condition of that type goes; an emptied list goes too. */
export function removeCondition<C extends { type: string }>(
  status: { conditions?: C[] },
  type: string,
): void {
  const rest = (status.conditions ?? []).filter((c) => c.type !== type);
  if (rest.length === 0) delete status.conditions;
  else status.conditions = rest;
}
