/**
 * k8s.io/apimachinery/pkg/util/intstr: an IntOrString field (maxUnavailable, maxSurge) scaled
 * against a total, as GetScaledValueFromIntOrPercent does: an integer is taken as is, "N%" is N
 * percent of the total rounded up or down; anything else is an error (with kube's wording).
 */

/** intstr.IntOrString: 3 or "25%". */
export type IntOrString = number | string;

/** intstr.GetScaledValueFromIntOrPercent. */
export function getScaledValueFromIntOrPercent(
  value: IntOrString | undefined,
  total: number,
  roundUp: boolean,
): number {
  if (value === undefined) throw new Error("nil value for IntOrString");
  if (typeof value === "number") return value;
  if (!value.endsWith("%"))
    throw new Error("invalid value for IntOrString: invalid type: string is not a percentage");
  // strconv.Atoi: an optional sign, then decimal digits.
  const digits = value.slice(0, -1);
  if (!/^[+-]?\d+$/.test(digits))
    throw new Error(
      `invalid value for IntOrString: invalid value "${value}": strconv.Atoi: parsing "${digits}": invalid syntax`,
    );
  const scaled = (Number(digits) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}
