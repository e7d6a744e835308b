/**
 * resource.Quantity parsing (k8s.io/apimachinery/pkg/api/resource): `<sign><number><suffix>`,
 * the suffix a decimal SI one (n u m "" k M G T P E), a binary SI one (Ki Mi Gi Ti Pi Ei) or a
 * decimal exponent (e3, E-2). The value is returned in base units as a JS number.
 */

const formatWrong =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const decimalSI = new Map<string, number>([
  ["n", -9],
  ["u", -6],
  ["m", -3],
  ["", 0],
  ["k", 3],
  ["M", 6],
  ["G", 9],
  ["T", 12],
  ["P", 15],
  ["E", 18],
]);
const binarySI = new Map<string, number>([
  ["Ki", 10],
  ["Mi", 20],
  ["Gi", 30],
  ["Ti", 40],
  ["Pi", 50],
  ["Ei", 60],
]);

/** ParseQuantity: "100m" is 0.1, "1Gi" 1073741824, "1e3" 1000. Throws on anything else. */
export function parseQuantity(q: string): number {
  const m = /^([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)(.*)$/.exec(q);
  if (m === null) throw new Error(formatWrong);
  const [, sign, digits, suffix] = m as unknown as [string, string, string, string];
  const number = `${sign}${digits}`;
  const exponent = decimalSI.get(suffix);
  if (exponent !== undefined) return Number(`${number}e${exponent}`);
  const power = binarySI.get(suffix);
  if (power !== undefined) return Number(number) * 2 ** power;
  const e = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
  if (e !== null) return Number(`${number}e${e[1]}`);
  throw new Error(formatWrong);
}
