/**
 * Cron schedules as the CronJob controller reads them: github.com/robfig/cron/v3's ParseStandard
 * (5 fields: minute, hour, day of month, month, day of week; `*`, `?`, lists, ranges, steps,
 * month and weekday names; @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly,
 * @every <duration>; an optional TZ= or CRON_TZ= prefix) and SpecSchedule.Next, which walks
 * month, day, hour, minute and second forward in the schedule's zone and gives up after five
 * years (a schedule like "0 0 30 2 *" never fires).
 */
import { loadLocation, type Zone } from "./zone.js";

export interface Schedule {
  /** The first activation strictly after `t` (ms), or undefined when there is none within 5 years. */
  next(t: number): number | undefined;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: {
    jan: 1,
    feb: 2,
    mar: 3,
    apr: 4,
    may: 5,
    jun: 6,
    jul: 7,
    aug: 8,
    sep: 9,
    oct: 10,
    nov: 11,
    dec: 12,
  },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** A field's allowed values; `star` is robfig's starBit (the field was `*` or `?`, no step > 1). */
interface Field {
  values: Set<number>;
  star: boolean;
}

const all = (b: Bounds): Field => ({ values: range(b.min, b.max, 1), star: true });
const only = (v: number): Field => ({ values: new Set([v]), star: false });

function range(start: number, end: number, step: number): Set<number> {
  const s = new Set<number>();
  for (let i = start; i <= end; i += step) s.add(i);
  return s;
}

/** mustParseInt: strconv.Atoi, negative numbers refused. */
function mustParseInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr))
    throw new Error(
      `failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`,
    );
  const n = Number.parseInt(expr, 10);
  if (n < 0) throw new Error(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names: Record<string, number> | undefined): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? mustParseInt(expr);
}

/** getRange: one comma-separated part of a field. */
function getRange(expr: string, b: Bounds, into: Field): void {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = (rangeAndStep[0] as string).split("-");
  const singleDigit = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0] as string, b.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1] as string, b.names);
    else throw new Error(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1] as string);
    // "N/step" means "N-max/step".
    if (singleDigit) end = b.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) throw new Error(`too many slashes: ${expr}`);
  if (start < b.min) throw new Error(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new Error(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new Error(`step of range should be a positive number: ${expr}`);
  for (const v of range(start, end, step)) into.values.add(v);
  if (star) into.star = true;
}

function getField(field: string, b: Bounds): Field {
  const f: Field = { values: new Set(), star: false };
  for (const expr of field.split(",")) getRange(expr, b, f);
  return f;
}

/** SpecSchedule: the allowed values of each field, in a zone (seconds always 0 here). */
class SpecSchedule implements Schedule {
  constructor(
    private readonly minute: Field,
    private readonly hour: Field,
    private readonly dom: Field,
    private readonly month: Field,
    private readonly dow: Field,
    private readonly zone: Zone,
  ) {}

  /** dayMatches: both day fields must match if either is `*`, else either may. */
  private dayMatches(day: number, weekday: number): boolean {
    const domMatch = this.dom.values.has(day);
    const dowMatch = this.dow.values.has(weekday);
    if (this.dom.star || this.dow.star) return domMatch && dowMatch;
    return domMatch || dowMatch;
  }

  next(from: number): number | undefined {
    const z = this.zone;
    // The earliest possible time: the next whole second.
    let t = Math.floor(from / 1000) * 1000 + 1000;
    let added = false;
    const yearLimit = z.fields(t).year + 5;
    wrap: for (;;) {
      let f = z.fields(t);
      if (f.year > yearLimit) return undefined;
      while (!this.month.values.has(f.month)) {
        if (!added) {
          added = true;
          t = z.date(f.year, f.month, 1, 0, 0, 0);
          f = z.fields(t);
        }
        t = z.date(f.year, f.month + 1, f.day, f.hour, f.minute, f.second);
        f = z.fields(t);
        if (f.month === 1) continue wrap;
      }
      while (!this.dayMatches(f.day, f.weekday)) {
        if (!added) {
          added = true;
          t = z.date(f.year, f.month, f.day, 0, 0, 0);
          f = z.fields(t);
        }
        t = z.date(f.year, f.month, f.day + 1, f.hour, f.minute, f.second);
        f = z.fields(t);
        // Midnight moved by a DST change: back to it (robfig's adjustment).
        if (f.hour !== 0) {
          t += (f.hour > 12 ? 24 - f.hour : -f.hour) * 3_600_000;
          f = z.fields(t);
        }
        if (f.day === 1) continue wrap;
      }
      while (!this.hour.values.has(f.hour)) {
        if (!added) {
          added = true;
          t = z.date(f.year, f.month, f.day, f.hour, 0, 0);
          f = z.fields(t);
        }
        t += 3_600_000;
        f = z.fields(t);
        if (f.hour === 0) continue wrap;
      }
      while (!this.minute.values.has(f.minute)) {
        if (!added) {
          added = true;
          t = Math.floor(t / 60_000) * 60_000;
          f = z.fields(t);
        }
        t += 60_000;
        f = z.fields(t);
        if (f.minute === 0) continue wrap;
      }
      while (f.second !== 0) {
        if (!added) {
          added = true;
          t = Math.floor(t / 1000) * 1000;
          f = z.fields(t);
        }
        t += 1000;
        f = z.fields(t);
        if (f.second === 0) continue wrap;
      }
      return t;
    }
  }
}

/** ConstantDelaySchedule (@every): whole seconds, at least one. */
class ConstantDelaySchedule implements Schedule {
  constructor(private readonly delayMs: number) {}

  next(t: number): number {
    return Math.floor(t / 1000) * 1000 + this.delayMs;
  }
}

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** time.ParseDuration, in milliseconds. */
export function parseGoDuration(s: string): number {
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw invalid();
  let total = 0;
  while (rest !== "") {
    const m = /^(\d*(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (m === null || m[1] === "" || m[1] === ".") throw invalid();
    total += Number(m[1]) * (GO_DURATION_UNITS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

function parseDescriptor(spec: string, zone: Zone): Schedule {
  const dom = all(DOM);
  const month = all(MONTHS);
  const dow = all(DOW);
  switch (spec) {
    case "@yearly":
    case "@annually":
      return new SpecSchedule(only(0), only(0), only(1), only(1), dow, zone);
    case "@monthly":
      return new SpecSchedule(only(0), only(0), only(1), month, dow, zone);
    case "@weekly":
      return new SpecSchedule(only(0), only(0), dom, month, only(0), zone);
    case "@daily":
    case "@midnight":
      return new SpecSchedule(only(0), only(0), dom, month, dow, zone);
    case "@hourly":
      return new SpecSchedule(only(0), all(HOURS), dom, month, dow, zone);
  }
  const every = "@every ";
  if (spec.startsWith(every)) {
    let d: number;
    try {
      d = parseGoDuration(spec.slice(every.length));
    } catch (e) {
      throw new Error(`failed to parse duration ${spec}: ${(e as Error).message}`);
    }
    // cron.Every: at least a second, in whole seconds.
    return new ConstantDelaySchedule(d < 1000 ? 1000 : d - (d % 1000));
  }
  throw new Error(`unrecognized descriptor: ${spec}`);
}

/**
 * cron.ParseStandard. `zone` is the schedule's zone unless the spec names one with TZ= or
 * CRON_TZ= (robfig's time.Local default is the caller's to choose).
 */
export function parseStandard(spec: string, zone: Zone): Schedule {
  if (spec.length === 0) throw new Error("empty spec string");
  let z = zone;
  let s = spec;
  if (s.startsWith("TZ=") || s.startsWith("CRON_TZ=")) {
    const i = s.indexOf(" ");
    const name = s.slice(s.indexOf("=") + 1, i < 0 ? undefined : i);
    try {
      z = loadLocation(name);
    } catch (e) {
      throw new Error(`provided bad location ${name}: ${(e as Error).message}`);
    }
    s = i < 0 ? "" : s.slice(i).trim();
  }
  if (s.startsWith("@")) return parseDescriptor(s, z);
  const fields = s.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5)
    throw new Error(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  return new SpecSchedule(
    getField(minute, MINUTES),
    getField(hour, HOURS),
    getField(dom, DOM),
    getField(month, MONTHS),
    getField(dow, DOW),
    z,
  );
}
