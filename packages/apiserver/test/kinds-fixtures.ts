/**
 * Shared set-up of the new kinds' REST tests (kinds.test.ts, kinds-shared.test.ts): an API server
 * in process on the embedded store with the controller manager's namespace controllers, a request
 * helper, and one valid object of each new kind.
 */
import type { Test } from "tap";
import { authenticator } from "../src/auth.js";
import { type ApiServer, createApiServer } from "../src/server.js";
import { embeddedBackend } from "./backends.js";
import { controllersForApp, type RunningControllers } from "./controller-manager.js";

const TOKEN = "test-token";
export const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, "content-type": "application/json" };
export const tableAccept = {
  ...auth,
  accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
};
export type Json = Record<string, unknown>;

export const CSR_PEM = Buffer.from(
  "-----BEGIN CERTIFICATE REQUEST-----\nMIIBADCBpwIBADAPMQ0wCwYDVQQDDARub2RlMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n-----END CERTIFICATE REQUEST-----\n",
).toString("base64");

/** One object of each new kind: where it lives, a valid body, and a field to change. */
export const samples: { path: string; body: Json; change: (o: Json) => Json }[] = [
  {
    path: "/apis/scheduling.k8s.io/v1/priorityclasses",
    body: {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: "high" },
      value: 1000,
    },
    change: (o) => ({ ...o, description: "changed" }),
  },
  {
    path: "/apis/storage.k8s.io/v1/storageclasses",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "fast" },
      provisioner: "example.com/fast",
    },
    change: (o) => ({ ...o, allowVolumeExpansion: true }),
  },
  {
    path: "/apis/storage.k8s.io/v1/csinodes",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "CSINode",
      metadata: { name: "node-1" },
      spec: { drivers: [{ name: "example.com/csi", nodeID: "n1" }] },
    },
    change: (o) => ({ ...o, spec: { drivers: [] } }),
  },
  {
    path: "/apis/storage.k8s.io/v1/csidrivers",
    body: { apiVersion: "storage.k8s.io/v1", kind: "CSIDriver", metadata: { name: "example.com" }, spec: {} },
    change: (o) => ({ ...o, spec: { ...(o.spec as Json), podInfoOnMount: true } }),
  },
  {
    path: "/apis/storage.k8s.io/v1/namespaces/default/csistoragecapacities",
    body: {
      apiVersion: "storage.k8s.io/v1",
      kind: "CSIStorageCapacity",
      metadata: { name: "cap" },
      storageClassName: "fast",
      capacity: "10Gi",
    },
    change: (o) => ({ ...o, capacity: "20Gi" }),
  },
  {
    path: "/api/v1/persistentvolumes",
    body: {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pv1" },
      spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp/pv1" } },
    },
    change: (o) => ({ ...o, spec: { ...(o.spec as Json), storageClassName: "fast" } }),
  },
  {
    path: "/api/v1/namespaces/default/persistentvolumeclaims",
    body: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "claim" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    },
    change: (o) => ({ ...o, metadata: { ...(o.metadata as Json), labels: { a: "b" } } }),
  },
  {
    path: "/apis/node.k8s.io/v1/runtimeclasses",
    body: {
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: "gvisor" },
      handler: "runsc",
    },
    change: (o) => ({ ...o, overhead: { podFixed: { cpu: "100m" } } }),
  },
  {
    path: "/apis/apps/v1/namespaces/default/controllerrevisions",
    body: {
      apiVersion: "apps/v1",
      kind: "ControllerRevision",
      metadata: { name: "rev-1" },
      data: { a: 1 },
      revision: 1,
    },
    change: (o) => ({ ...o, revision: 2 }),
  },
  {
    path: "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
    body: {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5 },
    },
    change: (o) => ({ ...o, spec: { ...(o.spec as Json), maxReplicas: 6 } }),
  },
  {
    path: "/apis/certificates.k8s.io/v1/certificatesigningrequests",
    body: {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: "csr1" },
      spec: { request: CSR_PEM, signerName: "kubernetes.io/kube-apiserver-client", usages: ["client auth"] },
    },
    change: (o) => ({ ...o, metadata: { ...(o.metadata as Json), labels: { a: "b" } } }),
  },
  {
    path: "/apis/events.k8s.io/v1/namespaces/default/events",
    body: {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "ev-new" },
      eventTime: "2025-01-01T00:00:00.000000Z",
      reportingController: "example.com/ctl",
      reportingInstance: "ctl-1",
      action: "Scale",
      reason: "Scaled",
      type: "Normal",
      regarding: { kind: "Deployment", namespace: "default", name: "web" },
      note: "scaled up",
    },
    // events.k8s.io updates may change the series only.
    change: (o) => ({ ...o, series: { count: 2, lastObservedTime: "2025-01-01T00:01:00.000000Z" } }),
  },
];

/** Starts a server for test `t` (stopped with it); returns fastify's app and a request helper. */
export async function startKindsServer(t: Test) {
  const backend = await embeddedBackend();
  const kv = backend.kv?.();
  if (kv === undefined) throw new Error("the embedded backend has a client");
  let server: ApiServer | undefined;
  let controllers: RunningControllers | undefined;
  t.teardown(async () => {
    await controllers?.stop();
    await server?.close();
    kv.close();
    await backend.stop();
  });
  server = await createApiServer({
    kv,
    authenticate: authenticator(new Map([[TOKEN, { name: "admin", groups: ["system:masters"] }]])),
  });
  // Pods need the default ServiceAccount (the controller manager's).
  controllers = await controllersForApp(server, TOKEN);
  const app = server.app;
  const req = (method: string, url: string, body?: unknown, headers: Record<string, string> = json) =>
    app.inject({
      method: method as "GET",
      url,
      headers: method === "PATCH" ? { ...headers, "content-type": "application/merge-patch+json" } : headers,
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
  return { app, req };
}
