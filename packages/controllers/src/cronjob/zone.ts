/**
 * Wall-clock time in an IANA time zone, the two operations robfig/cron's Next needs of Go's
 * time.Time in a Location: the fields of an instant there (t.In(loc).Year(), .Month() ...), and
 * the instant of given fields there (time.Date, normalizing overflowing fields and choosing an
 * offset for wall times a DST change skips or repeats exactly as Go does). Backed by Intl; UTC
 * without it. Times are milliseconds since the epoch.
 */

export interface WallFields {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 (Sunday) - 6. */
  weekday: number;
}

export interface Zone {
  readonly name: string;
  fields(ms: number): WallFields;
  /** Go's time.Date(year, month, day, hour, minute, second, 0, loc) (fields may overflow). */
  date(year: number, month: number, day: number, hour: number, minute: number, second: number): number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

const utcFields = (ms: number): WallFields => {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
};

export const UTC: Zone = {
  name: "UTC",
  fields: utcFields,
  date: (y, mo, d, h, mi, s) => Date.UTC(y, mo - 1, d, h, mi, s),
};

class IntlZone implements Zone {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly name: string) {
    this.format = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
      era: "short",
    });
  }

  fields(ms: number): WallFields {
    const f: Record<string, string> = {};
    for (const p of this.format.formatToParts(new Date(ms))) f[p.type] = p.value;
    const year = Number(f.year);
    return {
      // Years before 1 AD come as "n BC".
      year: f.era === "BC" || f.era === "B" ? 1 - year : year,
      month: Number(f.month),
      day: Number(f.day),
      hour: Number(f.hour),
      minute: Number(f.minute),
      second: Number(f.second),
      weekday: WEEKDAYS[f.weekday ?? ""] ?? 0,
    };
  }

  /** The zone's offset from UTC at an instant, ms (whole seconds). */
  private offsetAt(ms: number): number {
    const f = this.fields(ms);
    const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
    return wall - Math.floor(ms / 1000) * 1000;
  }

  date(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
    const wall = Date.UTC(y, mo - 1, d, h, mi, s);
    // Go's Date: the offset in effect at (wall - the offset in effect at wall-as-UTC).
    return wall - this.offsetAt(wall - this.offsetAt(wall));
  }
}

const zones = new Map<string, Zone>();

/** time.LoadLocation: the zone by IANA name ("" and "UTC" are UTC); throws for an unknown one. */
export function loadLocation(name: string): Zone {
  if (name === "" || name === "UTC") return UTC;
  let z = zones.get(name);
  if (z === undefined) {
    try {
      z = new IntlZone(name);
    } catch {
      throw new Error(`unknown time zone ${name}`);
    }
    zones.set(name, z);
  }
  return z;
}

/** time.Local: the process' zone (TZ, else the system's). */
export function localZone(): Zone {
  return loadLocation(Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC");
}
