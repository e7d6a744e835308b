/** SchedulingGates: PreEnqueue rejects gated pods with kube's message; it waits for its own gates' removal. */
import t from "tap";
import { ActionType } from "../../src/framework/interface.js";
import { Code } from "../../src/framework/status.js";
import { Name, New } from "../../src/plugins/schedulinggates/index.js";
import { fakeHandle, makePod } from "../fixtures.js";

t.test("SchedulingGates", async (t) => {
  const pl = New(undefined, fakeHandle([]));
  t.equal(pl.name, Name);
  t.equal(Name, "SchedulingGates");
  t.equal(pl.preEnqueue(makePod("free")), undefined, "no gates: Success");
  t.equal(pl.preEnqueue(makePod("empty", { spec: { schedulingGates: [] } })), undefined);
  const gated = makePod("gated", { spec: { schedulingGates: [{ name: "gate1" }, { name: "gate2" }] } });
  const s = pl.preEnqueue(gated);
  t.equal(s?.code, Code.UnschedulableAndUnresolvable);
  t.equal(s?.message(), "waiting for scheduling gates: [gate1 gate2]");

  const [reg, ...rest] = pl.eventsToRegister();
  t.same(rest, []);
  t.same(reg?.event, { resource: "Pod", actionType: ActionType.UpdatePodSchedulingGatesEliminated });
  const open = { ...gated, spec: { ...gated.spec, schedulingGates: [] } };
  t.equal(reg?.queueingHintFn?.(gated, gated, open), "Queue", "its own gates went");
  t.equal(reg?.queueingHintFn?.(gated, makePod("x"), makePod("x")), "QueueSkip", "another pod's did");
});
