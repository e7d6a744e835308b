/**
 * Several API servers in one ClientConfig (tiny node:http servers on loopback, each answering
 * with its own name): failover past a closed port, stickiness to the server that last answered,
 * a server going away mid-way (requests and watches move on), no silent retry of a write whose
 * connection broke after it was sent, and the write guard.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { freePort } from "@skiff/testkit";
import t from "tap";
import { type ClientConfig, KubeClient } from "../src/index.js";

interface Named {
  name: string;
  server: Server;
  url: string;
  port: number;
  /** "METHOD path" of every request received. */
  seen: string[];
}

type Behaviour = (req: IncomingMessage, res: ServerResponse, name: string) => void;

const answer: Behaviour = (req, res, name) => {
  if (req.url?.includes("watch=true")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.write(`${JSON.stringify({ type: "ADDED", object: { kind: "ConfigMap", metadata: { name } } })}\n`);
    res.end();
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ server: name }));
};

/** Reads the request, then cuts the connection without an answer (the request was sent). */
const hangUp: Behaviour = (req, res) => {
  req.resume();
  req.on("end", () => res.socket?.destroy());
};

async function start(name: string, behaviour: Behaviour = answer, port = 0): Promise<Named> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    behaviour(req, res, name);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const p = (server.address() as AddressInfo).port;
  return { name, server, url: `http://127.0.0.1:${p}`, port: p, seen };
}

async function stop(s: Named): Promise<void> {
  s.server.closeAllConnections();
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
}

const whoAnswered = async (c: KubeClient, method = "GET") => {
  const r = await c.raw(method, "/who", method === "GET" ? undefined : { x: 1 });
  return (r.body as { server: string }).server;
};

t.test("a closed port first: requests and writes go to the next server, which sticks", async (t) => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const a = await start("a");
  const client = new KubeClient({ server: closed, servers: [closed, a.url] });
  t.teardown(async () => {
    await client.close();
    await stop(a);
  });
  t.equal(await whoAnswered(client), "a");
  t.equal(client.currentServer, a.url, "the client sticks to the server that answered");
  const writer = new KubeClient({ server: closed, servers: [a.url] });
  t.equal(await whoAnswered(writer, "POST"), "a", "a write that never left is sent to the next server");
  await writer.close();
  t.same(a.seen, ["GET /who", "POST /who"]);
});

t.test("a server going away mid-way: requests and watches move on, and stay", async (t) => {
  const a = await start("a");
  const b = await start("b");
  const client = new KubeClient({ server: a.url, servers: [a.url, b.url] });
  t.teardown(async () => {
    await client.close();
    await stop(a);
    await stop(b);
  });
  t.equal(await whoAnswered(client), "a");
  await stop(a);
  t.equal(await whoAnswered(client), "b", "after a stopped");
  t.equal(await whoAnswered(client, "PUT"), "b");
  // a is back on its port: the client stays with b, the server that last answered.
  a.server = (await start("a", answer, a.port)).server;
  a.seen.length = 0;
  t.equal(await whoAnswered(client), "b", "sticks to b");
  const events: string[] = [];
  const w = client
    .resource("v1", "configmaps", "ns")
    .watch({ onEvent: (e) => events.push(e.object.metadata.name ?? "") });
  await w.done;
  t.same(events, ["b"], "a watch starts on the current server");
  t.same(a.seen, [], "nothing went to a");
});

t.test("a write whose connection broke after it was sent is not retried; a read is", async (t) => {
  const cut = await start("cut", hangUp);
  const b = await start("b");
  const cfg: ClientConfig = { server: cut.url, servers: [b.url] };
  const client = new KubeClient(cfg);
  t.teardown(async () => {
    await client.close();
    await stop(cut);
    await stop(b);
  });
  await t.rejects(client.raw("POST", "/who", { x: 1 }), "the POST's error is surfaced");
  t.same(b.seen, [], "and it was not sent again elsewhere");
  t.same(cut.seen, ["POST /who"]);
  const again = new KubeClient(cfg);
  t.equal(await whoAnswered(again), "b", "a GET cut the same way goes to the next server");
  await again.close();
  t.same(b.seen, ["GET /who"]);
});

t.test("the write guard refuses writes before anything is sent", async (t) => {
  const a = await start("a");
  let leading = true;
  const client = new KubeClient({
    server: a.url,
    writeGuard: () => {
      if (!leading) throw new Error("not the leader");
    },
  });
  t.teardown(async () => {
    await client.close();
    await stop(a);
  });
  t.equal(await whoAnswered(client, "POST"), "a");
  leading = false;
  await t.rejects(client.raw("POST", "/who", {}), /not the leader/);
  await t.rejects(client.resource("v1", "configmaps", "ns").delete("x"), /not the leader/);
  await t.rejects(
    client.resource("v1", "configmaps", "ns").patch("x", {}, "merge"),
    /not the leader/,
    "every verb that writes",
  );
  t.equal(await whoAnswered(client), "a", "reads go on");
  const unguarded = client.withoutWriteGuard();
  t.equal(await whoAnswered(unguarded, "PUT"), "a", "the unguarded view writes");
  t.equal(unguarded.config.writeGuard, undefined);
  t.same(a.seen, ["POST /who", "GET /who", "PUT /who"]);
});
