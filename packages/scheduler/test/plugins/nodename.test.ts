/** NodeName, as kube's nodename/node_name_test.go. */
import t from "tap";
import { ActionType } from "../../src/framework/interface.js";
import { ErrReason, Name, New, NodeName } from "../../src/plugins/nodename/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { describe, runFilter, success, unresolvable } from "./util.js";

t.test("Filter", async (t) => {
  const cases = [
    { name: "no host specified", pod: makePod("p"), want: success },
    { name: "host matches", pod: makePod("p", { spec: { nodeName: "foo" } }), want: success },
    {
      name: "host doesn't match",
      pod: makePod("p", { spec: { nodeName: "bar" } }),
      want: unresolvable(ErrReason),
    },
  ];
  const plugin = New(undefined, fakeHandle([])) as NodeName;
  t.equal(plugin.name, Name);
  t.equal(Name, "NodeName");
  for (const tc of cases) {
    const { statuses } = runFilter(plugin, tc.pod, [nodeInfo(makeNode("foo"))]);
    t.same(describe(statuses.get("foo")), tc.want, tc.name);
  }
  t.equal(ErrReason, "node(s) didn't match the requested node name");
});

t.test("EventsToRegister: only a new node can be the named one", async (t) => {
  t.same(new NodeName().eventsToRegister(), [{ event: { resource: "Node", actionType: ActionType.Add } }]);
});
