/** The e2e cluster fixture itself: nodes register and a namespace gets its ServiceAccount. */
import t from "tap";
import { startCluster } from "./cluster.js";

const c = await startCluster({ nodes: 2 });
t.teardown(() => c.stop());

t.test("hollow nodes register and a namespace is usable", async (t) => {
  const nodes = await c.client.resource("v1", "nodes").list();
  t.equal(nodes.items.length, 2);
  await c.namespace("fixture");
  const sa = await c.client.resource("v1", "serviceaccounts", "fixture").get("default");
  t.equal(sa.metadata.name, "default");
});
