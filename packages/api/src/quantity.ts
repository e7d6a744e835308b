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

const DECIMAL: [number, string][] = [
  [18, "E"],
  [15, "P"],
  [12, "T"],
  [9, "G"],
  [6, "M"],
  [3, "k"],
  [0, ""],
  [-3, "m"],
  [-6, "u"],
  [-9, "n"],
];
const BINARY: [number, string][] = [
  [60, "Ei"],
  [50, "Pi"],
  [40, "Ti"],
  [30, "Gi"],
  [20, "Mi"],
  [10, "Ki"],
];

/**
 * A quantity as kube prints it (resource.Quantity's canonical form): binary suffixes for byte
 * amounts that are whole multiples of 1024 (memory, storage, hugepages), else the largest
 * decimal suffix that keeps the number whole ("600m", "1", "2k").
 */
export function formatQuantity(n: number, resource = ""): string {
  if (n === 0) return "0";
  const bytes = /memory|storage|hugepages/.test(resource);
  if (bytes && Number.isInteger(n))
    for (const [p, s] of BINARY) if (n % 2 ** p === 0) return `${n / 2 ** p}${s}`;
  for (const [e, s] of DECIMAL) {
    const m = n / 10 ** e;
    const r = Math.round(m);
    if (r !== 0 && Math.abs(m - r) < 1e-9 * Math.abs(m)) return `${r}${s}`;
  }
  return `${Math.ceil(n * 1e9)}n`;
}
