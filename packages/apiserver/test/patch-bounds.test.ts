/**
 * Patch bombs and oversized objects, as kube-apiserver bounds them: at most 10000 JSON patch
 * operations, copies adding at most 3 MiB, results at most 3 MiB and MAX_DEPTH deep, objects
 * within the store's request limit; and a fast-check property that random PATCH bodies (JSON,
 * merge and strategic patches, deep nesting, huge arrays, bad types) never produce a 5xx.
 */
import { waitFor } from "@skiff/testkit";
import fc from "fast-check";
import t from "tap";
import { cms, jsonPatch, merge, strategic, writesServer } from "./writes-server.js";

const req = await writesServer(t);

t.test("patch bombs and oversized objects are 4xx", async (t) => {
  t.equal(
    (await req("POST", cms, { metadata: { name: "bomb" }, data: { a: "x".repeat(1024) } })).statusCode,
    201,
  );
  const tooMany = await req(
    "PATCH",
    `${cms}/bomb`,
    Array.from({ length: 10001 }, () => ({ op: "test", path: "/kind", value: "ConfigMap" })),
    jsonPatch,
  );
  t.equal(tooMany.statusCode, 413);
  t.equal(
    tooMany.json().message,
    "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
  );
  // Each copy doubles the document: unbounded, 30 of them would need terabytes.
  const doubling = [
    { op: "add", path: "/data/b", value: "" },
    { op: "copy", from: "/data", path: "/metadata/annotations" },
  ];
  for (let i = 0; i < 30; i++)
    doubling.push({ op: "copy", from: "/metadata", path: `/metadata/annotations/x${i}` } as never);
  const started = Date.now();
  const bomb = await req("PATCH", `${cms}/bomb`, doubling, jsonPatch);
  t.equal(bomb.statusCode, 422, bomb.body);
  t.match(bomb.json().details.causes[0].message, /accumulated size increase of copy/);
  t.comment(`the doubling-copy patch was refused in ${Date.now() - started} ms`);

  const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
  const node = `{"apiVersion":"v1","kind":"Node","metadata":{"name":"deep"},"status":{"config":{"x":${deep(50_000)}}}}`;
  const deepCreate = await req("POST", "/api/v1/nodes", node);
  t.equal(deepCreate.statusCode, 400);
  t.match(deepCreate.json().message, /exceeded max depth/);
  const deepPatch = await req("PATCH", `${cms}/bomb`, `{"data":{"a":${deep(50_000)}}}`, merge);
  t.equal(deepPatch.statusCode, 400);
  // A JSON patch that deepens the object by copying it into itself.
  const nest = [{ op: "add", path: "/metadata/annotations", value: { n: { m: {} } } }];
  for (let i = 0; i < 12; i++)
    nest.push({ op: "copy", from: "/metadata/annotations", path: "/metadata/annotations/n/m" } as never);
  const nested = await req("PATCH", `${cms}/bomb`, nest, jsonPatch);
  t.ok(nested.statusCode >= 400 && nested.statusCode < 500, `deepening patch: ${nested.statusCode}`);

  const over = await req("POST", cms, {
    metadata: { name: "huge" },
    data: { a: "x".repeat(3 * 1024 * 1024) },
  });
  t.equal(over.statusCode, 413);
  t.equal(over.json().message, "Request entity too large: limit is 3145728");
  const big = await req("POST", cms, { metadata: { name: "big" }, data: { a: "x".repeat(2 * 1024 * 1024) } });
  t.equal(big.statusCode, 413, "over the store's 1.5 MiB request limit");
  t.match(big.json(), { kind: "Status", reason: "RequestEntityTooLarge" });
  // A merge patch growing an object past the request limit.
  const half = "y".repeat(2 * 1024 * 1024);
  const grow = await req("PATCH", `${cms}/bomb`, { data: { b: half, c: half } }, merge);
  t.equal(grow.statusCode, 413);
  t.equal((await req("GET", `${cms}/bomb`)).statusCode, 200, "the server still serves");
});

t.test("random PATCH bodies never produce a 5xx", async (t) => {
  await req("POST", cms, { metadata: { name: "fz" }, data: { a: "1" } });
  await req("POST", "/api/v1/nodes", { metadata: { name: "fz" } });
  const deep = fc.integer({ min: 1, max: 3000 }).map((n) => `{"a":${"[".repeat(n)}${"]".repeat(n)}}`);
  const op = fc.record({
    op: fc.constantFrom("add", "remove", "replace", "move", "copy", "test", "bogus"),
    path: fc.constantFrom(
      "",
      "/data",
      "/data/a",
      "/metadata",
      "/metadata/labels",
      "/status/config",
      "/x/-",
      "/spec/taints/0",
      "bad",
    ),
    from: fc.constantFrom("/data", "/metadata", "", "/nope"),
    value: fc.jsonValue({ maxDepth: 3 }),
  });
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
    fc.array(op, { maxLength: 40 }).map((v) => JSON.stringify(v)),
    deep,
    fc
      .integer({ min: 0, max: 200_000 })
      .map((n) => JSON.stringify({ data: { a: "x".repeat(n) }, x: Array(Math.min(n, 50_000)).fill(1) })),
    fc.string(),
  );
  const target = fc.constantFrom(
    `${cms}/fz`,
    "/api/v1/nodes/fz",
    "/api/v1/nodes/fz/status",
    `${cms}/missing`,
  );
  const type = fc.constantFrom(merge, jsonPatch, strategic);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(target, type, body, async (url, headers, payload) => {
      runs++;
      const r = await req("PATCH", url, payload, headers);
      return r.statusCode < 500;
    }),
    { numRuns: 300 },
  );
  t.comment(`${runs} random patches`);
  await waitFor(async () => (await req("GET", `${cms}/fz`)).statusCode === 200, {
    what: "the server to serve",
  });
  t.pass("never a 5xx");
});
