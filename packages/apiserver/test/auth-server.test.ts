/**
 * Authentication and authorization as kube-apiserver 1.32 does them, end to end on `skiff server`
 * (the API server started in this process on a new data directory, with the controller manager's
 * namespace controllers beside it): anonymous public info, ServiceAccount tokens
 * (TokenRequest, bearer authentication, TokenReview, rejection once the ServiceAccount is gone),
 * the ServiceAccount admission plugin's projected volume, kube-root-ca.crt, the reviews, file
 * modes and the embedded store's sockets; then kubectl 1.32's auth commands. Token expiry on an
 * injected clock is in auth.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningPorts, waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { parse } from "yaml";
import type { KubeApiServer } from "../src/kube-apiserver.js";
import { startServer } from "../src/main.js";
import { createCA, issueClientCert } from "../src/pki/pki.js";
import { controllersFor, type RunningControllers } from "./controller-manager.js";
import { kubectlRunner, kubectlSkip } from "./kubectl-runner.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read loosely by the assertions
type Json = Record<string, any>;

async function main(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), "skiff-auth-"));
  const dataDir = join(dir, "data");
  const kubeconfig = join(dir, "kubeconfig");
  const home = join(dir, "home");
  mkdirSync(home);
  let running: KubeApiServer | undefined;
  let controllers: RunningControllers | undefined;
  t.teardown(async () => {
    await controllers?.stop();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const tokenFile = join(dir, "tokens.csv");
  writeFileSync(tokenFile, 'static-tok,carol,u-carol,"devs"\n');
  const tcpBefore = listeningPorts();
  running = await startServer(
    [
      "--data-dir",
      dataDir,
      "--bind-address",
      "127.0.0.1",
      "--secure-port",
      "0",
      "--write-kubeconfig",
      kubeconfig,
      "--token-auth-file",
      tokenFile,
    ],
    () => {},
  );
  // The default ServiceAccounts and kube-root-ca.crt: the controller manager's (as `skiff server`).
  controllers = await controllersFor(kubeconfig);
  const url = running.url;
  const config = parse(readFileSync(kubeconfig, "utf8"));
  const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
  const ca = b64(config.clusters[0].cluster["certificate-authority-data"]);
  const admin = {
    cert: b64(config.users[0].user["client-certificate-data"]),
    key: b64(config.users[0].user["client-key-data"]),
  };

  const call = (
    method: string,
    path: string,
    o: { body?: unknown; token?: string; anonymous?: boolean; creds?: { cert: string; key: string } } = {},
  ): Promise<{ status: number; body: Json; text: string }> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: "application/json",
      };
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
      const creds = o.creds ?? (o.token === undefined && !o.anonymous ? admin : {});
      const req = request(`${url}${path}`, { method, ca, headers, ...creds }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (s: string) => {
          text += s;
        });
        res.on("end", () => {
          let body: Json = {};
          try {
            body = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body, text });
        });
      });
      req.on("error", reject);
      req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
    });

  t.test("the embedded store opens no socket; data files are private", async (t) => {
    const opened = [...listeningPorts()].filter((p) => !tcpBefore.has(p));
    const apiPort = Number(new URL(url).port);
    t.same(opened, [apiPort], "the only TCP port this process opened is the API server's");
    const mode = (p: string) => statSync(p).mode & 0o777;
    t.equal(mode(dataDir), 0o700, "data dir");
    t.equal(mode(join(dataDir, "pki")), 0o700, "pki dir");
    t.equal(mode(join(dataDir, "store")), 0o700, "store dir");
    for (const k of ["ca.key", "apiserver.key", "admin.key", "sa.key"])
      t.equal(mode(join(dataDir, "pki", k)), 0o600, `pki/${k}`);
    t.equal(mode(kubeconfig), 0o600, "kubeconfig");
    const files = walk(join(dataDir, "store"));
    t.ok(files.length > 0, "the store wrote files");
    t.same(
      files.filter((f) => mode(f) !== 0o600),
      [],
      "every store file is 0600",
    );
  });

  t.test("anonymous: public info only; bad tokens are 401", async (t) => {
    for (const p of ["/version", "/healthz", "/livez", "/readyz"])
      t.equal((await call("GET", p, { anonymous: true })).status, 200, `GET ${p}`);
    const api = await call("GET", "/api/v1/namespaces", { anonymous: true });
    t.equal(api.status, 401);
    t.match(api.body, { reason: "Unauthorized", code: 401 });
    const post = await call("POST", "/version", { anonymous: true });
    t.equal(post.status, 403);
    t.equal(post.body.message, 'forbidden: User "system:anonymous" cannot post path "/version"');
    t.equal(
      (await call("GET", "/version", { token: "not-a-token" })).status,
      401,
      "a bad token is never anonymous",
    );
    const otherCa = createCA();
    const stranger = issueClientCert(otherCa, { commonName: "mallory" });
    const r = await call("GET", "/version", { creds: { cert: stranger.certPem, key: stranger.keyPem } });
    t.equal(r.status, 401, "a certificate the cluster CA did not sign is never anonymous");
  });

  let saToken = "";
  t.test("TokenRequest, bearer authentication, TokenReview, SelfSubjectReview", async (t) => {
    t.equal(
      (await call("POST", "/api/v1/namespaces/default/serviceaccounts/bot/token", { body: {} })).status,
      404,
    );
    const sa = await call("POST", "/api/v1/namespaces/default/serviceaccounts", {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "bot" } },
    });
    t.equal(sa.status, 201);
    const low = await call("POST", "/api/v1/namespaces/default/serviceaccounts/bot/token", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 10 } },
    });
    t.equal(low.status, 422);
    t.equal(
      low.body.message,
      'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 10: may not specify a duration less than 10 minutes',
    );
    const tr = await call("POST", "/api/v1/namespaces/default/serviceaccounts/bot/token", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} },
    });
    t.equal(tr.status, 201);
    t.match(tr.body, {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: "bot", namespace: "default" },
      spec: { audiences: ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: 3600 },
    });
    saToken = tr.body.status.token;
    const who = await call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      token: saToken,
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    t.equal(who.status, 201);
    t.match(who.body.status.userInfo, {
      username: "system:serviceaccount:default:bot",
      uid: sa.body.metadata.uid,
      groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
    });
    t.equal(
      (await call("GET", "/api/v1/namespaces/default/pods", { token: saToken })).status,
      200,
      "can list",
    );
    const review = await call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: saToken } },
    });
    t.equal(review.status, 201);
    t.match(review.body.status, {
      authenticated: true,
      user: { username: "system:serviceaccount:default:bot" },
      audiences: ["https://kubernetes.default.svc.cluster.local"],
    });
    const wrongAud = await call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token: saToken, audiences: ["x"] },
      },
    });
    t.notOk(wrongAud.body.status.authenticated, "not for another audience");
    t.equal((await call("GET", "/apis/authentication.k8s.io/v1/tokenreviews")).status, 405, "create only");
    const staticReview = await call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: "static-tok" } },
    });
    t.match(staticReview.body.status, {
      authenticated: true,
      user: { username: "carol", groups: ["devs", "system:authenticated"] },
      audiences: ["https://kubernetes.default.svc.cluster.local"],
    });

    t.equal((await call("DELETE", "/api/v1/namespaces/default/serviceaccounts/bot")).status, 200);
    t.equal(
      (await call("GET", "/api/v1/namespaces/default/pods", { token: saToken })).status,
      401,
      "SA deleted",
    );
  });

  t.test("a pod bound token dies with its pod", async (t) => {
    await call("POST", "/api/v1/namespaces/default/serviceaccounts", {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } },
    });
    const pod = await call("POST", "/api/v1/namespaces/default/pods", {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p1" },
        spec: {
          initContainers: [{ name: "i", image: "busybox" }],
          containers: [{ name: "c", image: "nginx" }],
        },
      },
    });
    t.equal(pod.status, 201);
    const spec = pod.body.spec;
    t.equal(spec.serviceAccountName, "default");
    const vol = spec.volumes.find((v: Json) => v.name.startsWith("kube-api-access-"));
    t.match(vol?.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    t.same(vol?.projected, {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
      defaultMode: 420,
    });
    for (const c of [...spec.initContainers, ...spec.containers])
      t.same(c.volumeMounts, [
        { name: vol.name, readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
      ]);
    const noMount = await call("POST", "/api/v1/namespaces/default/pods", {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p2" },
        spec: { automountServiceAccountToken: false, containers: [{ name: "c", image: "nginx" }] },
      },
    });
    t.equal(noMount.body.spec.volumes, undefined, "automountServiceAccountToken: false");

    const tr = await call("POST", "/api/v1/namespaces/default/serviceaccounts/default/token", {
      body: { spec: { boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "p1" } } },
    });
    t.equal(tr.status, 201);
    const staleUid = await call("POST", "/api/v1/namespaces/default/serviceaccounts/default/token", {
      body: { spec: { boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "p1", uid: "stale" } } },
    });
    t.equal(staleUid.status, 409);
    t.equal(
      staleUid.body.message,
      'Operation cannot be fulfilled on Pod "p1": the UID in the bound object reference (stale) does not match the UID in record. The object might have been deleted and then recreated',
    );
    const badKind = await call("POST", "/api/v1/namespaces/default/serviceaccounts/default/token", {
      body: { spec: { boundObjectRef: { apiVersion: "apps/v1", kind: "Deployment", name: "d" } } },
    });
    t.equal(badKind.status, 400);
    t.equal(badKind.body.message, "cannot bind token to object of type apps/v1, Kind=Deployment");
    const token = tr.body.status.token;
    const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
    t.same(claims["kubernetes.io"].pod, { name: "p1", uid: pod.body.metadata.uid });
    t.equal((await call("GET", "/api/v1/namespaces/default/pods", { token })).status, 200);
    await call("DELETE", "/api/v1/namespaces/default/pods/p1");
    t.equal((await call("GET", "/api/v1/namespaces/default/pods", { token })).status, 401, "pod deleted");
  });

  t.test("kube-root-ca.crt in every namespace", async (t) => {
    await call("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } },
    });
    const cm = await waitFor(
      async () => {
        const r = await call("GET", "/api/v1/namespaces/team/configmaps/kube-root-ca.crt");
        return r.status === 200 ? r.body : undefined;
      },
      { what: "kube-root-ca.crt in team" },
    );
    t.equal(cm.data["ca.crt"], ca);
  });

  t.test("access reviews answered by the authorizer", async (t) => {
    const ssar = await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { verb: "create", resource: "pods", namespace: "default" } },
      },
    });
    t.equal(ssar.status, 201);
    t.equal(ssar.body.status.allowed, true);
    const sar = await call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user: "nobody", nonResourceAttributes: { path: "/api", verb: "get" } },
      },
    });
    t.equal(sar.body.status.allowed, false, "a user in no group is not authenticated");
    const bad = await call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      body: { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: {} },
    });
    t.equal(bad.status, 422);
    t.equal(
      bad.body.message,
      'SubjectAccessReview.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: "": at least one of user or group must be specified]',
    );
  });

  const skip = kubectlSkip();
  if (skip !== undefined) {
    t.comment(`skipping kubectl: ${skip}`);
    return;
  }
  const kubectl = kubectlRunner({ kubeconfig, home, cacheDir: join(dir, "cache") });
  t.test("kubectl auth whoami, auth can-i, create token", async (t) => {
    const who = await kubectl(["auth", "whoami"]);
    t.equal(who.code, 0, who.stderr);
    t.match(who.stdout, /Username\s+skiff-admin/);
    t.match(who.stdout, /system:masters/);
    const can = await kubectl(["auth", "can-i", "create", "pods"]);
    t.equal(can.code, 0, can.stderr);
    t.equal(can.stdout, "yes\n");
    const list = await kubectl(["auth", "can-i", "--list"]);
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);
    const token = await kubectl(["create", "token", "default"]);
    t.equal(token.code, 0, token.stderr);
    const jwt = token.stdout.trim();
    t.equal(jwt.split(".").length, 3, "a JWT");
    const who2 = await kubectl(["auth", "whoami", "--token", jwt, "-o", "json"]);
    t.equal(who2.code, 0, who2.stderr);
    t.equal(JSON.parse(who2.stdout).status.userInfo.username, "system:serviceaccount:default:default");
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

t.test("on skiff server", { timeout: 180_000 }, (t) => main(t));
