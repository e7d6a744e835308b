/**
 * The work queue on a fake clock: deduplication, a key added while processed runs once more
 * after, delays, client-go's backoff and token bucket sequences, shutDownWithDrain, and the
 * workqueue_* metrics' values.
 */
import { Registry } from "prom-client";
import t from "tap";
import {
  BucketRateLimiter,
  DelayingQueue,
  defaultControllerRateLimiter,
  FakeClock,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  Queue,
  RateLimitingQueue,
  sleep,
} from "../src/index.js";

/** Lets resolved promises run their continuations. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test("FakeClock fires due timers in order, including ones set while stepping", async (t) => {
  const clock = new FakeClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => {
    fired.push(`a@${clock.now()}`);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5);
  }, 10);
  const cleared = clock.setTimeout(() => fired.push("never"), 15);
  clock.clearTimeout(cleared);
  clock.setTimeout(() => fired.push(`d@${clock.now()}`), 100);
  t.equal(clock.pendingTimers, 3);
  clock.step(50);
  t.same(fired, ["a@1010", "c@1015", "b@1020"]);
  t.equal(clock.now(), 1050);
  t.equal(clock.nextTimerAt(), 1100);
  const ac = new AbortController();
  const slept = sleep(clock, 1000, ac.signal);
  ac.abort();
  t.equal(await slept, false, "an aborted sleep resolves false");
  t.equal(clock.pendingTimers, 1, "and clears its timer");
  t.throws(() => clock.setTime(0), /before now/);
});

t.test("a key is queued once, however often it is added", async (t) => {
  const q = new Queue<string>();
  q.add("a");
  q.add("b");
  q.add("a");
  t.equal(q.len(), 2);
  t.equal(await q.get(), "a");
  t.equal(await q.get(), "b");
  t.equal(q.len(), 0);
  q.done("a");
  q.done("b");
});

t.test("a key added while processed is not handed out twice, and runs once more after done", async (t) => {
  const q = new Queue<string>();
  q.add("k");
  const first = await q.get();
  t.equal(first, "k");
  q.add("k");
  q.add("k");
  t.equal(q.len(), 0, "not queued while being processed");
  let second: string | undefined;
  void q.get().then((k) => {
    second = k;
  });
  await settle();
  t.equal(second, undefined, "a second worker does not get it");
  q.done("k");
  await settle();
  t.equal(second, "k", "it comes back once done");
  q.done("k");
  t.equal(q.len(), 0, "and only once");
  q.shutDown();
});

t.test("get waits for a key and resolves undefined after shutDown", async (t) => {
  const q = new Queue<number>();
  const waiting = q.get();
  q.add(7);
  t.equal(await waiting, 7);
  q.done(7);
  const idle = q.get();
  q.shutDown();
  t.equal(await idle, undefined);
  q.add(8);
  t.equal(q.len(), 0, "adds after shutDown are ignored");
  t.equal(await q.get(), undefined);
});

t.test("shutDownWithDrain waits for the keys being processed", async (t) => {
  const q = new Queue<string>();
  q.add("x");
  q.add("y");
  t.equal(await q.get(), "x");
  let drained = false;
  const drain = q.shutDownWithDrain().then(() => {
    drained = true;
  });
  t.equal(await q.get(), "y", "keys still queued can be got while draining");
  await settle();
  t.equal(drained, false, "x and y are still being processed");
  q.done("x");
  await settle();
  t.equal(drained, false, "y is still being processed");
  q.done("y");
  await drain;
  t.equal(drained, true);
  t.equal(await q.get(), undefined);
  await new Queue<string>().shutDownWithDrain();
});

t.test("addAfter on a fake clock", async (t) => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.addAfter("late", 100);
  q.addAfter("soon", 10);
  q.addAfter("late", 200);
  q.addAfter("now", 0);
  t.equal(q.len(), 1, "a zero delay adds at once");
  t.equal(q.waitingLen(), 2, "a key waits once, with its earliest ready time");
  clock.step(9);
  t.equal(q.len(), 1);
  clock.step(1);
  t.equal(q.len(), 2);
  clock.step(90);
  t.equal(q.len(), 3);
  t.same([await q.get(), await q.get(), await q.get()], ["now", "soon", "late"]);
  q.addAfter("again", 50);
  q.addAfter("again", 20);
  clock.step(20);
  t.equal(q.len(), 1, "an earlier ready time replaces a later one");
  q.addAfter("dropped", 10);
  q.shutDown();
  t.equal(clock.pendingTimers, 0, "shutDown clears the timer");
});

t.test("the per-item exponential backoff: 5 ms, 10 ms, 20 ms ... capped", async (t) => {
  const l = new ItemExponentialFailureRateLimiter<string>(5, 1000 * 1000);
  const seq = Array.from({ length: 20 }, () => l.when("a"));
  t.same(seq.slice(0, 5), [5, 10, 20, 40, 80]);
  t.equal(seq[17], 5 * 2 ** 17);
  t.equal(seq[18], 1000 * 1000, "capped at 1000 s");
  t.equal(seq[19], 1000 * 1000);
  t.equal(l.numRequeues("a"), 20);
  t.equal(l.when("b"), 5, "per item");
  l.forget("a");
  t.equal(l.numRequeues("a"), 0);
  t.equal(l.when("a"), 5, "forget starts over");
  const huge = new ItemExponentialFailureRateLimiter<string>(1, 10);
  for (let i = 0; i < 2000; i++) huge.when("x");
  t.equal(huge.when("x"), 10, "no overflow past the cap");
});

t.test("the token bucket: burst, then 1/qps apart, refilled with time", async (t) => {
  const clock = new FakeClock();
  const b = new BucketRateLimiter<string>(10, 100, clock);
  const burst = Array.from({ length: 100 }, (_, i) => b.when(`k${i}`));
  t.ok(
    burst.every((d) => d === 0),
    "100 at once",
  );
  t.equal(b.when("x"), 100);
  t.equal(b.when("y"), 200, "reservations queue up in debt, as rate.Limiter's");
  clock.step(1000);
  // 10 tokens came back; 2 paid the debt: 8 free.
  const after = Array.from({ length: 9 }, () => b.when("z"));
  t.same(after, [0, 0, 0, 0, 0, 0, 0, 0, 100]);
  t.equal(b.numRequeues("x"), 0);
});

t.test("defaultControllerRateLimiter is the max of both", async (t) => {
  const clock = new FakeClock();
  const l = defaultControllerRateLimiter<string>(clock);
  t.ok(l instanceof MaxOfRateLimiter);
  t.same([l.when("a"), l.when("a"), l.when("a")], [5, 10, 20]);
  for (let i = 0; i < 97; i++) l.when(`other${i}`);
  t.equal(l.when("b"), 100, "the bucket's delay once the burst is spent");
  t.equal(l.numRequeues("a"), 3);
  l.forget("a");
  t.equal(l.numRequeues("a"), 0);
});

t.test("RateLimitingQueue: addRateLimited, forget, numRequeues", async (t) => {
  const clock = new FakeClock();
  const q = new RateLimitingQueue<string>({ clock });
  q.addRateLimited("k");
  t.equal(q.len(), 0);
  clock.step(5);
  t.equal(q.len(), 1);
  t.equal(await q.get(), "k");
  q.done("k");
  q.addRateLimited("k");
  clock.step(9);
  t.equal(q.len(), 0, "second failure: 10 ms");
  clock.step(1);
  t.equal(q.len(), 1);
  t.equal(q.numRequeues("k"), 2);
  q.forget("k");
  t.equal(q.numRequeues("k"), 0);
  q.shutDown();
});

async function metric(
  registry: Registry,
  name: string,
  labels = 'name="q"',
): Promise<Record<string, number>> {
  const text = await registry.getSingleMetricAsString(name);
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.includes(labels)) continue;
    const sp = line.lastIndexOf(" ");
    out[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return out;
}

t.test("metrics with client-go's names and values", async (t) => {
  const clock = new FakeClock();
  const registry = new Registry();
  const q = new RateLimitingQueue<string>({ name: "q", clock, registry });
  // A second queue on the same registry shares the metrics, with its own label.
  const other = new Queue<string>({ name: "other", clock, registry });
  other.add("o");
  q.add("a");
  q.add("b");
  q.add("a");
  t.same(await metric(registry, "workqueue_adds_total"), { 'workqueue_adds_total{name="q"}': 2 });
  t.same(await metric(registry, "workqueue_depth"), { 'workqueue_depth{name="q"}': 2 });
  clock.step(2000);
  t.equal(await q.get(), "a");
  clock.step(3000);
  t.equal(await q.get(), "b");
  t.same(await metric(registry, "workqueue_depth"), { 'workqueue_depth{name="q"}': 0 });
  const latency = await metric(registry, "workqueue_queue_duration_seconds");
  t.equal(latency['workqueue_queue_duration_seconds_sum{name="q"}'], 7, "2 s + 5 s in the queue");
  t.equal(latency['workqueue_queue_duration_seconds_count{name="q"}'], 2);
  t.equal(latency['workqueue_queue_duration_seconds_bucket{le="1",name="q"}'], 0);
  t.equal(latency['workqueue_queue_duration_seconds_bucket{le="10",name="q"}'], 2);
  clock.step(1000);
  t.same(
    await metric(registry, "workqueue_unfinished_work_seconds"),
    {
      'workqueue_unfinished_work_seconds{name="q"}': 5,
    },
    "a for 4 s and b for 1 s",
  );
  t.same(await metric(registry, "workqueue_longest_running_processor_seconds"), {
    'workqueue_longest_running_processor_seconds{name="q"}': 4,
  });
  q.done("a");
  q.done("b");
  const work = await metric(registry, "workqueue_work_duration_seconds");
  t.equal(work['workqueue_work_duration_seconds_sum{name="q"}'], 5);
  t.equal(work['workqueue_work_duration_seconds_count{name="q"}'], 2);
  t.same(await metric(registry, "workqueue_unfinished_work_seconds"), {
    'workqueue_unfinished_work_seconds{name="q"}': 0,
  });
  q.addRateLimited("a");
  q.addAfter("b", 0);
  t.same(await metric(registry, "workqueue_retries_total"), { 'workqueue_retries_total{name="q"}': 2 });
  t.same(await metric(registry, "workqueue_adds_total", 'name="other"'), {
    'workqueue_adds_total{name="other"}': 1,
  });
  q.shutDown();
  other.shutDown();
  t.same(
    await metric(registry, "workqueue_unfinished_work_seconds"),
    {},
    "a shut-down queue is not reported",
  );
  t.throws(() => new Queue({ registry }), /needs a name/);
});
