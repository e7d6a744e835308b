/**
 * The cron parser and Next against robfig/cron v3's semantics (ParseStandard, SpecSchedule.Next:
 * strictly after, day-of-month OR day-of-week unless one is `*`, steps, names, descriptors,
 * @every, the 5-year give-up, DST gaps and repeats in a zone), and the CronJob controller's time
 * reckoning (mostRecentScheduleTime, nextScheduleTimeDuration) as in utils_test.go.
 */
import t from "tap";
import { parseStandard } from "../../src/cronjob/schedule.js";
import type { CronJob } from "../../src/cronjob/types.js";
import {
  formatRFC3339,
  getJobName,
  mostRecentScheduleTime,
  nextScheduleTimeDuration,
} from "../../src/cronjob/utils.js";
import { loadLocation, UTC } from "../../src/cronjob/zone.js";

const at = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) =>
  ms === undefined ? "never" : new Date(ms).toISOString().replace(".000", "");

t.test("Next in UTC", async (t) => {
  const cases: [string, string, string][] = [
    ["* * * * *", "2024-05-01T12:00:30Z", "2024-05-01T12:01:00Z"],
    ["* * * * *", "2024-05-01T12:00:00Z", "2024-05-01T12:01:00Z"], // strictly after
    ["*/15 * * * *", "2024-05-01T12:00:00Z", "2024-05-01T12:15:00Z"],
    ["5/15 * * * *", "2024-05-01T12:06:00Z", "2024-05-01T12:20:00Z"], // N/step is N-max/step
    ["0 0 * * *", "2024-05-01T12:00:00Z", "2024-05-02T00:00:00Z"],
    ["30 6-16/4 * * 1-5", "2024-05-03T15:00:00Z", "2024-05-06T06:30:00Z"], // Fri 15:00 -> Mon 06:30
    ["0 0 1,15 * 3", "2024-05-01T00:00:00Z", "2024-05-08T00:00:00Z"], // dom OR dow
    ["0 0 * * 3", "2024-05-01T00:00:00Z", "2024-05-08T00:00:00Z"], // dom is *: dow alone
    ["0 0 */2 * 1", "2024-05-01T00:00:00Z", "2024-05-03T00:00:00Z"], // a step > 1 is not *: OR
    ["0 0 */1 * 1", "2024-05-01T00:00:00Z", "2024-05-06T00:00:00Z"], // */1 is still *: AND
    ["0 0 ? * 1", "2024-05-01T00:00:00Z", "2024-05-06T00:00:00Z"],
    ["0 0 31 * *", "2024-04-15T00:00:00Z", "2024-05-31T00:00:00Z"],
    ["0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"],
    ["0 9 * jan,JUL Mon", "2024-05-01T00:00:00Z", "2024-07-01T09:00:00Z"],
    ["0 12 * * sun-tue", "2024-05-01T13:00:00Z", "2024-05-05T12:00:00Z"],
    ["59 23 31 12 *", "2024-12-31T23:59:00Z", "2025-12-31T23:59:00Z"],
    ["@hourly", "2024-05-01T12:59:59Z", "2024-05-01T13:00:00Z"],
    ["@daily", "2024-05-01T12:00:00Z", "2024-05-02T00:00:00Z"],
    ["@midnight", "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"],
    ["@weekly", "2024-05-01T12:00:00Z", "2024-05-05T00:00:00Z"],
    ["@monthly", "2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z"],
    ["@yearly", "2024-05-01T00:00:00Z", "2025-01-01T00:00:00Z"],
    ["@annually", "2024-05-01T00:00:00Z", "2025-01-01T00:00:00Z"],
    ["@every 90s", "2024-05-01T12:00:00Z", "2024-05-01T12:01:30Z"],
    ["@every 1m30.5s", "2024-05-01T12:00:00Z", "2024-05-01T12:01:30Z"], // whole seconds
    ["@every 10ms", "2024-05-01T12:00:00Z", "2024-05-01T12:00:01Z"], // at least a second
    ["0 0 30 2 *", "2024-05-01T00:00:00Z", "never"],
  ];
  for (const [spec, from, want] of cases)
    t.equal(iso(parseStandard(spec, UTC).next(at(from))), want, `${spec} after ${from}`);
  t.equal(
    iso(parseStandard("@every 90s", UTC).next(at("2024-05-01T12:00:00Z") + 500)),
    "2024-05-01T12:01:30Z",
    "@every counts from the whole second",
  );
});

t.test("parse errors are robfig's", async (t) => {
  const cases: [string, string][] = [
    ["", "empty spec string"],
    ["* * * *", "expected exactly 5 fields, found 4: [* * * *]"],
    ["* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"],
    ["60 * * * *", "end of range (60) above maximum (59): 60"],
    ["* * 0 * *", "beginning of range (0) below minimum (1): 0"],
    ["5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"],
    ["*/0 * * * *", "step of range should be a positive number: */0"],
    ["1-2-3 * * * *", "too many hyphens: 1-2-3"],
    ["1/2/3 * * * *", "too many slashes: 1/2/3"],
    ["a * * * *", 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax'],
    ["-1 * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'],
    ["* * * * 7", "end of range (7) above maximum (6): 7"],
    ["@fortnightly", "unrecognized descriptor: @fortnightly"],
    ["@every 5x", 'failed to parse duration @every 5x: time: invalid duration "5x"'],
    ["TZ=Mars/Olympus * * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"],
  ];
  for (const [spec, want] of cases)
    t.throws(() => parseStandard(spec, UTC), { message: want }, JSON.stringify(spec));
});

t.test("Next in a time zone, across DST changes", async (t) => {
  const ny = loadLocation("America/New_York");
  t.equal(
    iso(parseStandard("0 9 * * *", ny).next(at("2024-03-09T15:00:00Z"))),
    "2024-03-10T13:00:00Z",
    "09:00 EDT",
  );
  t.equal(
    iso(parseStandard("30 2 * * *", ny).next(at("2024-03-09T08:00:00Z"))),
    "2024-03-11T06:30:00Z",
    "02:30 does not exist on 10 March: skipped",
  );
  const twice = parseStandard("30 1 * * *", ny);
  t.equal(iso(twice.next(at("2024-11-03T04:00:00Z"))), "2024-11-03T05:30:00Z", "01:30 EDT");
  t.equal(
    iso(twice.next(at("2024-11-03T05:30:00Z"))),
    "2024-11-03T06:30:00Z",
    "01:30 EST: the repeated hour fires again",
  );
  t.equal(iso(twice.next(at("2024-11-03T06:30:00Z"))), "2024-11-04T06:30:00Z");
  const kolkata = loadLocation("Asia/Kolkata");
  t.equal(iso(parseStandard("0 0 * * *", kolkata).next(at("2024-05-01T00:00:00Z"))), "2024-05-01T18:30:00Z");
  t.equal(
    iso(parseStandard("CRON_TZ=Asia/Tokyo 0 9 * * *", UTC).next(at("2024-05-01T00:00:00Z"))),
    "2024-05-02T00:00:00Z",
    "a CRON_TZ= prefix names the zone",
  );
  t.equal(formatRFC3339(at("2024-05-01T12:00:00Z"), loadLocation("Asia/Tokyo")), "2024-05-01T21:00:00+09:00");
  t.equal(formatRFC3339(at("2024-05-01T12:00:00Z"), kolkata), "2024-05-01T17:30:00+05:30");
  t.equal(formatRFC3339(at("2024-01-01T12:00:00Z"), ny), "2024-01-01T07:00:00-05:00");
  t.equal(formatRFC3339(at("2024-05-01T12:00:00Z"), UTC), "2024-05-01T12:00:00Z");
  t.throws(() => loadLocation("Nowhere/Special"), { message: "unknown time zone Nowhere/Special" });
});

const cronJob = (
  schedule: string,
  created: string,
  status: CronJob["status"] = {},
  sds?: number,
): CronJob => ({
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name: "cj", namespace: "ns", uid: "uid-cj", creationTimestamp: created },
  spec: {
    schedule,
    ...(sds === undefined ? {} : { startingDeadlineSeconds: sds }),
    jobTemplate: { spec: { template: { spec: { containers: [] } } } },
  },
  status,
});

t.test("mostRecentScheduleTime and the next requeue", async (t) => {
  const every5 = parseStandard("*/5 * * * *", UTC);
  const created = "2024-05-01T10:00:00Z";
  let r = mostRecentScheduleTime(cronJob("*/5 * * * *", created), at("2024-05-01T10:04:00Z"), every5, true);
  t.same([r.mostRecentTime, r.missed], [undefined, "none"], "nothing due yet");
  r = mostRecentScheduleTime(cronJob("*/5 * * * *", created), at("2024-05-01T10:07:00Z"), every5, true);
  t.same([iso(r.mostRecentTime), r.missed], ["2024-05-01T10:05:00Z", "none"]);
  r = mostRecentScheduleTime(cronJob("*/5 * * * *", created), at("2024-05-01T10:23:00Z"), every5, true);
  t.same([iso(r.mostRecentTime), r.missed], ["2024-05-01T10:20:00Z", "few"], "the latest of several missed");
  const last = { lastScheduleTime: "2024-05-01T10:20:00Z" };
  r = mostRecentScheduleTime(cronJob("*/5 * * * *", created, last), at("2024-05-01T10:23:00Z"), every5, true);
  t.same([r.mostRecentTime, r.missed], [undefined, "none"], "the last schedule time is the start");
  r = mostRecentScheduleTime(
    cronJob("*/5 * * * *", "2000-01-01T00:00:00Z"),
    at("2024-05-01T10:23:00Z"),
    every5,
    true,
  );
  t.same([iso(r.mostRecentTime), r.missed], ["2024-05-01T10:20:00Z", "many"], "24 years of missed times");
  r = mostRecentScheduleTime(
    cronJob("*/5 * * * *", "2000-01-01T00:00:00Z", {}, 200),
    at("2024-05-01T10:23:00Z"),
    every5,
    true,
  );
  t.same(
    [iso(r.mostRecentTime), r.missed],
    ["2024-05-01T10:20:00Z", "none"],
    "startingDeadlineSeconds cuts the past",
  );
  r = mostRecentScheduleTime(
    cronJob("*/5 * * * *", "2000-01-01T00:00:00Z", {}, 100),
    at("2024-05-01T10:23:00Z"),
    every5,
    true,
  );
  t.same([r.mostRecentTime, r.missed], [undefined, "none"], "10:20 is older than the deadline");
  const never = parseStandard("0 0 30 2 *", UTC);
  r = mostRecentScheduleTime(cronJob("0 0 30 2 *", created), at("2024-05-01T10:23:00Z"), never, true);
  t.equal(r.error, "time difference between two schedules is less than 1 second");
  const irregular = parseStandard("30 6-16/4 * * 1-5", UTC);
  r = mostRecentScheduleTime(
    cronJob("30 6-16/4 * * 1-5", "2024-04-29T00:00:00Z"),
    at("2024-05-03T12:00:00Z"),
    irregular,
    true,
  );
  t.equal(iso(r.mostRecentTime), "2024-05-03T10:30:00Z", "irregular intervals found exactly");

  t.equal(
    nextScheduleTimeDuration(cronJob("*/5 * * * *", created, last), at("2024-05-01T10:23:00Z"), every5),
    2 * 60_000 + 100,
    "until 10:25 and 100 ms",
  );
  t.equal(
    nextScheduleTimeDuration(
      cronJob("*/5 * * * *", "2000-01-01T00:00:00Z"),
      at("2024-05-01T10:23:00Z"),
      every5,
    ),
    2 * 60_000 + 100,
    "missed ones: from the most recent",
  );
  t.equal(
    getJobName(cronJob("* * * * *", created), at("2024-05-01T10:05:00Z")),
    `cj-${at("2024-05-01T10:05:00Z") / 60_000}`,
  );
});
