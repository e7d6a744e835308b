/**
 * No input crashes the server: random bodies (JSON values shaped like objects of every kind,
 * random bytes) in every content type, sent as creates, updates and patches of every kind, get a
 * 2xx or a 4xx Status, never a 5xx, and the server keeps serving.
 */
import { Registry } from "@skiff/api";
import fc from "fast-check";
import t from "tap";
import { authenticator } from "../src/auth.js";
import { createApiServer } from "../src/server.js";
import { GrpcEtcd } from "../src/storage/etcd.js";
import { skiffBackend } from "./backends.js";

const registry = new Registry();
const kinds = registry.kinds;
const contentTypes = [
  "application/json",
  "application/yaml",
  "application/vnd.kubernetes.protobuf",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/json-patch+json",
  "text/plain",
  "",
];

t.test("random requests never get a 5xx", { timeout: 120_000 }, async (t) => {
  const backend = await skiffBackend();
  const kv = new GrpcEtcd(backend.endpoints);
  const server = await createApiServer({
    kv,
    authenticate: authenticator(new Map([["tok", { name: "a", groups: [] }]])),
  });
  t.teardown(async () => {
    await server.close();
    kv.close();
    await backend.stop();
  });
  const jsonish = fc.jsonValue({ maxDepth: 4 });
  const objectish = fc.record(
    {
      apiVersion: fc.oneof(
        fc.constantFrom(...kinds.map((k) => (k.group === "" ? k.version : `${k.group}/${k.version}`))),
        fc.string(),
      ),
      kind: fc.oneof(fc.constantFrom(...kinds.map((k) => k.kind)), fc.string()),
      metadata: fc.oneof(
        fc.record(
          {
            name: fc.oneof(fc.constantFrom("a", "b-1", "Bad_Name"), fc.string()),
            labels: fc.dictionary(fc.string(), fc.string()),
          },
          { requiredKeys: [] },
        ),
        jsonish,
      ),
      spec: jsonish,
      data: jsonish,
      status: jsonish,
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    objectish.map((o) => Buffer.from(JSON.stringify(o))),
    jsonish.map((v) => Buffer.from(JSON.stringify(v) ?? "null")),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([Buffer.from("k8s\u0000"), Buffer.from(b)])),
  );
  const request = fc.record({
    kind: fc.constantFrom(...kinds),
    method: fc.constantFrom("POST", "PUT", "PATCH", "DELETE", "GET"),
    name: fc.constantFrom(undefined, "a", "b-1"),
    contentType: fc.constantFrom(...contentTypes),
    body,
    query: fc.constantFrom(
      "",
      "?fieldValidation=Strict",
      "?dryRun=All",
      "?fieldValidation=bogus",
      "?labelSelector=a%20in%20(",
      "?limit=-1",
    ),
  });
  let count = 0;
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const root = r.kind.group === "" ? "/api/v1" : `/apis/${r.kind.group}/${r.kind.version}`;
      const ns = r.kind.namespaced ? "/namespaces/default" : "";
      const url = `${root}${ns}/${r.kind.resource}${r.name === undefined ? "" : `/${r.name}`}${r.query}`;
      const res = await server.app.inject({
        method: r.method as "POST",
        url,
        headers: {
          authorization: "Bearer tok",
          ...(r.contentType === "" ? {} : { "content-type": r.contentType }),
        },
        payload: r.method === "GET" ? undefined : r.body,
      });
      count++;
      if (res.statusCode >= 500)
        throw new Error(`${r.method} ${url} (${r.contentType}) -> ${res.statusCode}: ${res.body}`);
      if (res.statusCode >= 400) {
        const status = res.json() as { kind?: string; code?: number };
        if (status.kind !== "Status" || status.code !== res.statusCode)
          throw new Error(`not a Status: ${res.body}`);
      }
    }),
    { numRuns: 400, seed: 42 },
  );
  t.equal(count >= 400, true, `${count} requests`);
  const still = await server.app.inject({
    url: "/api/v1/namespaces/default",
    headers: { authorization: "Bearer tok" },
  });
  t.equal(still.statusCode, 200, "the server still serves");
});
