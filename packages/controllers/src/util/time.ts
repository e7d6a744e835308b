/**
 * metav1.Time as the controllers compare it: the RFC 3339 string of an object's field read as
 * milliseconds since the epoch, with the zero time (an unset or unreadable field) as undefined,
 * so that callers can order "unset" before or after a time as kube's IsZero checks do.
 */

/** A metav1.Time in ms since the epoch; undefined when unset or not a time. */
export function parseTime(s: string | null | undefined): number | undefined {
  if (s === undefined || s === null || s === "") return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
