/**
 * The API server the write-semantics tests share: in process on the embedded store, with one
 * admin token and the controller manager's namespace controllers, and the request helpers they use.
 */
import type { Test } from "tap";
import { authenticator } from "../src/auth.js";
import { type ApiServer, createApiServer } from "../src/server.js";
import { embeddedBackend } from "./backends.js";
import { controllersForApp } from "./controller-manager.js";

const TOKEN = "writes-token";
export const auth = { authorization: `Bearer ${TOKEN}` };
export const json = { ...auth, "content-type": "application/json" };
export const merge = { ...auth, "content-type": "application/merge-patch+json" };
export const jsonPatch = { ...auth, "content-type": "application/json-patch+json" };
export const strategic = { ...auth, "content-type": "application/strategic-merge-patch+json" };

export const NS = "/api/v1/namespaces/default";
export const cms = `${NS}/configmaps`;
export const pods = `${NS}/pods`;

export type Req = (
  method: string,
  url: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Awaited<ReturnType<ApiServer["app"]["inject"]>>>;

/** Starts the server; `t.teardown` stops it and removes the store. */
export async function writesServer(t: Test): Promise<Req> {
  const backend = await embeddedBackend();
  const kv = backend.kv?.();
  if (kv === undefined) throw new Error("the embedded backend has an in-process client");
  const server = await createApiServer({
    kv,
    authenticate: authenticator(new Map([[TOKEN, { name: "admin", groups: ["system:masters"] }]])),
  });
  // The pods need the default ServiceAccount (the controller manager's).
  const controllers = await controllersForApp(server, TOKEN);
  t.teardown(async () => {
    await controllers.stop();
    await server.close();
    kv.close();
    await backend.stop();
  });
  return (method, url, body, headers = json) =>
    server.app.inject({
      method: method as "GET",
      url,
      headers,
      payload: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
}

export const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "nginx:1.25" }], ...extra },
});

/** Creates a pod and binds it to node-1, as the scheduler would. */
export async function boundPod(t: Test, req: Req, name: string, extra: Record<string, unknown> = {}) {
  t.equal((await req("POST", pods, pod(name, extra))).statusCode, 201);
  const bind = await req("POST", `${pods}/${name}/binding`, {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name },
    target: { apiVersion: "v1", kind: "Node", name: "node-1" },
  });
  t.equal(bind.statusCode, 201, bind.body);
}
