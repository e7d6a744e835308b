/**
 * k8s.io/apimachinery/pkg/util/intstr: an IntOrString field (maxUnavailable, maxSurge) scaled
 * against a total, as GetScaledValueFromIntOrPercent does: an integer is taken as is, "N%" is N
 * percent of the total rounded up or down; anything else is an error.
 */

export type IntOrString = number | string;

/** intstr.GetScaledValueFromIntOrPercent. */
export function getScaledValueFromIntOrPercent(
  value: IntOrString | undefined,
  total: number,
  roundUp: boolean,
): number {
  if (value === undefined) throw new Error("nil value for IntOrString");
  if (typeof value === "number") return value;
  const m = /^(-?\d+)%$/.exec(value);
  if (m === null)
    throw new Error(`invalid value for IntOrString: invalid value "${value}": not a percentage`);
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}
