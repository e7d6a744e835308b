/** NodePorts, as kube's nodeports/node_ports_test.go. */
import type { Container, ContainerPort, Pod } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import {
  ErrReason,
  isSchedulableAfterPodDeleted,
  New,
  NodePorts,
} from "../../src/plugins/nodeports/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { describe, runFilter, success, unschedulable } from "./util.js";

/** "PROTO/IP/PORT" strings, as kube's newPod(host, hostPortInfos...). */
function podWithPorts(
  name: string,
  ports: string[],
  opts: { nodeName?: string; sidecar?: boolean } = {},
): Pod {
  const cps: ContainerPort[] = ports.map((s) => {
    const [protocol, hostIP, port] = s.split("/") as [ContainerPort["protocol"], string, string];
    return { containerPort: Number(port), hostPort: Number(port), hostIP, protocol };
  });
  const container: Container = { name: "c", image: "busybox", ports: cps };
  const spec = opts.sidecar
    ? {
        containers: [{ name: "main", image: "busybox" }],
        initContainers: [{ ...container, restartPolicy: "Always" }],
      }
    : { containers: [container] };
  return makePod(name, { ...(opts.nodeName === undefined ? {} : { nodeName: opts.nodeName }), spec });
}

t.test("Filter", async (t) => {
  const cases: { name: string; pod: Pod; existing: Pod[]; want: unknown; skip?: boolean }[] = [
    { name: "nothing running", pod: podWithPorts("p", []), existing: [], want: success, skip: true },
    {
      name: "other port",
      pod: podWithPorts("p", ["UDP/127.0.0.1/8080"]),
      existing: [podWithPorts("e", ["UDP/127.0.0.1/9090"], { nodeName: "n" })],
      want: success,
    },
    {
      name: "same udp port",
      pod: podWithPorts("p", ["UDP/127.0.0.1/8080"]),
      existing: [podWithPorts("e", ["UDP/127.0.0.1/8080"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "same tcp port",
      pod: podWithPorts("p", ["TCP/127.0.0.1/8080"]),
      existing: [podWithPorts("e", ["TCP/127.0.0.1/8080"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "different host ip",
      pod: podWithPorts("p", ["TCP/127.0.0.1/8080"]),
      existing: [podWithPorts("e", ["TCP/127.0.0.2/8080"], { nodeName: "n" })],
      want: success,
    },
    {
      name: "different protocol",
      pod: podWithPorts("p", ["UDP/127.0.0.1/8080"]),
      existing: [podWithPorts("e", ["TCP/127.0.0.1/8080"], { nodeName: "n" })],
      want: success,
    },
    {
      name: "second udp port conflict",
      pod: podWithPorts("p", ["UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"]),
      existing: [podWithPorts("e", ["UDP/127.0.0.1/8080"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "first tcp port conflict",
      pod: podWithPorts("p", ["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"]),
      existing: [podWithPorts("e", ["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8081"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "first tcp port conflict due to 0.0.0.0 hostIP",
      pod: podWithPorts("p", ["TCP/0.0.0.0/8001"]),
      existing: [podWithPorts("e", ["TCP/127.0.0.1/8001"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "TCP hostPort conflict due to 0.0.0.0 hostIP",
      pod: podWithPorts("p", ["TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"]),
      existing: [podWithPorts("e", ["TCP/127.0.0.1/8001"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "second tcp port conflict to 0.0.0.0 hostIP",
      pod: podWithPorts("p", ["TCP/127.0.0.1/8001"]),
      existing: [podWithPorts("e", ["TCP/0.0.0.0/8001"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "second different protocol",
      pod: podWithPorts("p", ["UDP/127.0.0.1/8001"]),
      existing: [podWithPorts("e", ["TCP/0.0.0.0/8001"], { nodeName: "n" })],
      want: success,
    },
    {
      name: "UDP hostPort conflict due to 0.0.0.0 hostIP",
      pod: podWithPorts("p", ["UDP/127.0.0.1/8001"]),
      existing: [podWithPorts("e", ["TCP/0.0.0.0/8001", "UDP/0.0.0.0/8001"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "an empty protocol is TCP",
      pod: podWithPorts("p", ["/127.0.0.1/8001"]),
      existing: [podWithPorts("e", ["TCP/127.0.0.1/8001"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
    {
      name: "a sidecar's host port is held (restartable init container)",
      pod: podWithPorts("p", ["TCP/0.0.0.0/8081"]),
      existing: [podWithPorts("e", ["TCP/0.0.0.0/8081"], { nodeName: "n", sidecar: true })],
      want: unschedulable(ErrReason),
    },
    {
      name: "the pod's own sidecar ports are wanted",
      pod: podWithPorts("p", ["TCP/0.0.0.0/8081"], { sidecar: true }),
      existing: [podWithPorts("e", ["TCP/0.0.0.0/8081"], { nodeName: "n" })],
      want: unschedulable(ErrReason),
    },
  ];
  const plugin = New(undefined, fakeHandle([])) as NodePorts;
  t.equal(plugin.name, "NodePorts");
  for (const tc of cases) {
    const { preFilter, statuses } = runFilter(plugin, tc.pod, [nodeInfo(makeNode("n"), ...tc.existing)]);
    t.equal(describe(preFilter?.status).code, tc.skip ? "Skip" : "Success", `${tc.name}: PreFilter`);
    if (!tc.skip) t.same(describe(statuses.get("n")), tc.want, tc.name);
  }
});

t.test("Filter without PreFilter is an Error", async (t) => {
  const s = new NodePorts().filter(
    new CycleState(),
    podWithPorts("p", ["TCP/0.0.0.0/80"]),
    nodeInfo(makeNode("n")),
  );
  t.equal(describe(s).code, "Error");
});

t.test("a deleted pod freeing the wanted port requeues", async (t) => {
  const pod = podWithPorts("p", ["TCP/0.0.0.0/8080"]);
  const cases: { name: string; deleted: Pod; want: string }[] = [
    {
      name: "holds the port",
      deleted: podWithPorts("d", ["TCP/0.0.0.0/8080"], { nodeName: "n" }),
      want: "Queue",
    },
    { name: "was not scheduled", deleted: podWithPorts("d", ["TCP/0.0.0.0/8080"]), want: "QueueSkip" },
    { name: "has no host port", deleted: makePod("d", { nodeName: "n" }), want: "QueueSkip" },
    {
      name: "holds another port",
      deleted: podWithPorts("d", ["TCP/0.0.0.0/9090"], { nodeName: "n" }),
      want: "QueueSkip",
    },
  ];
  for (const tc of cases) t.equal(isSchedulableAfterPodDeleted(pod, tc.deleted, undefined), tc.want, tc.name);
  const nominated = podWithPorts("d", ["TCP/0.0.0.0/8080"]);
  nominated.status = { phase: "Pending", nominatedNodeName: "n" };
  t.equal(isSchedulableAfterPodDeleted(pod, nominated, undefined), "Queue", "was nominated");
  t.same(
    new NodePorts().eventsToRegister().map((e) => [e.event.resource, e.event.actionType]),
    [
      ["Pod", 2],
      ["Node", 1],
    ],
  );
});
