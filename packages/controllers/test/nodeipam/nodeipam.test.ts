/**
 * Node IPAM: kube's CidrSet (cidr_set_test.go's shapes) and the range allocator controller on
 * a fake client: existing allocations remembered, new nodes patched with the next free subnet,
 * the service range skipped, subnets released on delete, CIDRNotAvailable when full.
 */
import type { Node } from "@skiff/api";
import t from "tap";
import { CidrSet, formatIpv4Cidr, parseIpv4Cidr } from "../../src/nodeipam/cidrset.js";
import { NodeIpamController } from "../../src/nodeipam/controller.js";
import { nodeIpamControllerDescriptor } from "../../src/nodeipam/descriptor.js";
import { harness, node } from "../node-harness.js";

t.test("CidrSet: allocation order, round robin, occupy and release, exhaustion", async (t) => {
  const s = new CidrSet(parseIpv4Cidr("10.244.0.0/22"), 24);
  t.equal(s.maxCIDRs, 4);
  const next = () => formatIpv4Cidr(s.allocateNext());
  t.equal(next(), "10.244.0.0/24");
  s.occupy(parseIpv4Cidr("10.244.1.7/32"));
  t.equal(next(), "10.244.2.0/24", "an occupied subnet is skipped");
  s.release(parseIpv4Cidr("10.244.0.0/24"));
  t.equal(next(), "10.244.3.0/24", "round robin: a released subnet is not reused at once");
  t.equal(next(), "10.244.0.0/24");
  t.throws(() => next(), /no remaining CIDRs/);
  t.equal(s.allocatedCount, 4);
  t.throws(() => s.occupy(parseIpv4Cidr("10.64.0.0/24")), /out the range of cluster cidr 10.244.0.0\/22/);
  s.release(parseIpv4Cidr("10.244.0.0/16"));
  t.equal(s.allocatedCount, 0, "a CIDR holding the cluster's releases every subnet");
  t.equal(formatIpv4Cidr(parseIpv4Cidr("10.244.3.9/22")), "10.244.0.0/22", "parsing masks the address");
  t.throws(() => parseIpv4Cidr("10.244.0.0"), /invalid CIDR/);
  t.throws(() => new CidrSet(parseIpv4Cidr("10.0.0.0/24"), 16), /does not fit/);
});

t.test("the range allocator assigns, remembers, releases, and reports a full range", async (t) => {
  const h = harness(
    [node("has", { podCIDR: "10.244.1.0/24" }), node("foreign", { podCIDR: "10.64.0.0/24" })],
    {
      clusterCidr: "10.244.0.0/22",
      nodeCidrMaskSize: 24,
      serviceClusterIpRange: "10.96.0.0/12",
    },
  );
  t.teardown(() => h.stop());
  const c = new NodeIpamController(h.ctx);
  await h.start();
  c.occupyExistingNodes();
  const cidrOf = (name: string) => h.get<Node>("v1", "nodes", undefined, name).spec?.podCIDR;
  for (const name of ["a", "b", "c"]) {
    h.client.tracker.add(node(name));
    await c.sync(name);
  }
  t.equal(cidrOf("a"), "10.244.0.0/24");
  t.equal(cidrOf("b"), "10.244.2.0/24", "the existing node's subnet is skipped");
  t.equal(cidrOf("c"), "10.244.3.0/24");
  t.same(h.get<Node>("v1", "nodes", undefined, "a").spec?.podCIDRs, ["10.244.0.0/24"]);
  t.equal(cidrOf("has"), "10.244.1.0/24");
  t.equal(cidrOf("foreign"), "10.64.0.0/24", "a CIDR outside the range is left alone");
  const patch = h.client.writes().find((a) => a.name === "a");
  t.match(patch, {
    verb: "patch",
    patchType: "strategic",
    patch: { spec: { podCIDR: "10.244.0.0/24", podCIDRs: ["10.244.0.0/24"] } },
  });

  h.client.clearActions();
  await c.sync("a");
  await c.sync("foreign");
  t.same(h.client.writes(), [], "nodes with CIDRs: no writes");

  h.client.tracker.add(node("d"));
  await t.rejects(c.sync("d"), /failed to allocate cidr from cluster cidr at idx:0/);
  const events = await h.events();
  t.ok(
    events.some(
      (e) => e.reason === "CIDRNotAvailable" && e.message === "Node d status is now: CIDRNotAvailable",
    ),
  );

  await h.client.resource("v1", "nodes").delete("b");
  await c.sync("d");
  t.equal(cidrOf("d"), "10.244.2.0/24", "the deleted node's subnet goes to the next node");
});

t.test(
  "the service range is never handed out; the controller runs only with --allocate-node-cidrs",
  async (t) => {
    const h = harness([node("a")], {
      clusterCidr: "10.96.0.0/23",
      nodeCidrMaskSize: 24,
      serviceClusterIpRange: "10.96.0.0/24",
    });
    t.teardown(() => h.stop());
    const c = new NodeIpamController(h.ctx);
    await h.start();
    await c.sync("a");
    t.equal(h.get<Node>("v1", "nodes", undefined, "a").spec?.podCIDR, "10.96.1.0/24");
    const off = harness([], { allocateNodeCidrs: false });
    t.equal(nodeIpamControllerDescriptor.init(off.ctx), undefined);
    await off.stop();
  },
);
