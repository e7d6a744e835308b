/**
 * Authentication and authorization units, as kube-apiserver 1.32 does them: the verbs RequestInfo
 * resolves and the attributes the authorizer is given (through the real filter chain), and
 * ServiceAccount tokens on an injected clock (claims, audiences, leeway, expiry, a recreated or
 * deleted ServiceAccount). auth-server.test.ts drives the same on a running `skiff server`.
 */
import type { IncomingMessage } from "node:http";
import type { KubeObject } from "@skiff/api";
import { Registry } from "@skiff/api";
import { Registry as MetricsRegistry } from "prom-client";
import t from "tap";
import { authenticator, isPublicInfoPath, type RequestAttributes } from "../src/auth.js";
import { defaultHandlerChain } from "../src/filters/chain.js";
import { type FilterRequest, runFilters } from "../src/filters/filter.js";
import { resolveRequestInfo } from "../src/request/requestinfo.js";
import { newSigningKey } from "../src/serviceaccount/keys.js";
import { ServiceAccountTokens } from "../src/serviceaccount/tokens.js";

t.test("kube's verbs from RequestInfo", async (t) => {
  const registry = new Registry();
  const verb = (method: string, url: string) => {
    const q = Object.fromEntries(new URLSearchParams(url.split("?")[1] ?? ""));
    return resolveRequestInfo(registry, method, url, q).verb;
  };
  const cms = "/api/v1/namespaces/default/configmaps";
  t.same(
    [
      verb("POST", cms),
      verb("GET", cms),
      verb("GET", `${cms}?watch=True`),
      verb("GET", `${cms}?watch=1`),
      verb("GET", `${cms}?watch=false`),
      verb("GET", `${cms}/x`),
      verb("HEAD", `${cms}/x`),
      verb("PUT", `${cms}/x`),
      verb("PATCH", `${cms}/x`),
      verb("DELETE", `${cms}/x`),
      verb("DELETE", cms),
      verb("GET", "/version"),
    ],
    [
      "create",
      "list",
      "watch",
      "watch",
      "list",
      "get",
      "get",
      "update",
      "patch",
      "delete",
      "deletecollection",
      "get",
    ],
  );
});

t.test("the authorizer is given kube's verbs, and the name a field selector names", async (t) => {
  const seen: RequestAttributes[] = [];
  const filters = defaultHandlerChain({
    registry: new Registry(),
    authenticate: authenticator(new Map([["good", { name: "alice", groups: [] }]])),
    authorizer: {
      authorize: (a) => {
        seen.push(a);
        return { allowed: true };
      },
    },
    alwaysAllow: isPublicInfoPath,
    maxRequestsInflight: 10,
    maxMutatingRequestsInflight: 10,
    notAcceptingNewRequests: new AbortController().signal,
    metrics: new MetricsRegistry(),
  });
  const run = (method: string, url: string) => {
    const query = Object.fromEntries(new URLSearchParams(url.split("?")[1] ?? ""));
    const raw = { headers: { authorization: "Bearer good" }, socket: {} } as unknown as IncomingMessage;
    const req: FilterRequest = { method, url, query, raw, onDone: () => {} };
    runFilters(filters, req);
  };
  const pods = "/api/v1/namespaces/default/pods";
  run("GET", `${pods}?watch=True&fieldSelector=metadata.name%3Dp1`);
  run("GET", `${pods}?watch=false`);
  run("POST", pods);
  run("PUT", `${pods}/p1/status`);
  run("DELETE", pods);
  run("GET", "/api");
  t.same(
    seen.map((a) => [a.verb, a.resource, a.subresource, a.name, a.path]),
    [
      ["watch", "pods", undefined, "p1", pods],
      ["list", "pods", undefined, undefined, pods],
      ["create", "pods", undefined, undefined, pods],
      ["update", "pods", "status", "p1", `${pods}/p1/status`],
      ["deletecollection", "pods", undefined, undefined, pods],
      ["get", "", undefined, undefined, "/api"],
    ],
  );
  t.same(
    seen[0]?.user.groups,
    ["system:authenticated"],
    "every authenticated user is in system:authenticated",
  );
});

t.test("token expiry and validity with an injected clock", async (t) => {
  let now = new Date("2026-01-01T00:00:00Z");
  const tokens = new ServiceAccountTokens(newSigningKey(), () => now);
  const sa = { metadata: { name: "bot", namespace: "ns", uid: "u1" } } as KubeObject;
  let present = true;
  tokens.lookup = (r, ns, name) =>
    present && r === "serviceaccounts" && ns === "ns" && name === "bot" ? sa : undefined;
  const { token, expires } = tokens.issue({
    namespace: "ns",
    serviceAccount: { name: "bot", uid: "u1" },
    audiences: [...tokens.apiAudiences],
    expirationSeconds: 600,
  });
  t.equal(expires.toISOString(), "2026-01-01T00:10:00.000Z");
  const claims = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString());
  t.match(claims, {
    iss: "https://kubernetes.default.svc.cluster.local",
    sub: "system:serviceaccount:ns:bot",
    aud: ["https://kubernetes.default.svc.cluster.local"],
    "kubernetes.io": { namespace: "ns", serviceaccount: { name: "bot", uid: "u1" } },
  });
  t.equal(claims.exp - claims.iat, 600);
  t.equal(tokens.authenticate(token)?.user.name, "system:serviceaccount:ns:bot");
  t.equal(tokens.authenticate(token, ["other"]), undefined, "another audience");
  t.equal(tokens.authenticate(`${token.slice(0, -4)}AAAA`), undefined, "a forged signature");
  now = new Date("2026-01-01T00:10:59Z");
  t.ok(tokens.authenticate(token), "within a minute of leeway");
  now = new Date("2026-01-01T00:11:01Z");
  t.equal(tokens.authenticate(token), undefined, "expired");
  now = new Date("2026-01-01T00:05:00Z");
  sa.metadata.uid = "u2";
  t.equal(tokens.authenticate(token), undefined, "a recreated ServiceAccount (another uid)");
  sa.metadata.uid = "u1";
  present = false;
  t.equal(tokens.authenticate(token), undefined, "a deleted ServiceAccount");
});
