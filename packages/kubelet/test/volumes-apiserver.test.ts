/**
 * DirVolumeManager with ClientObjectSource against a real API server: a pod created through the
 * API gets the ServiceAccount admission's kube-api-access projected volume, and setting it up
 * writes a TokenRequest token bound to the pod, ca.crt from kube-root-ca.crt and the namespace;
 * a ConfigMap edited through the API shows in the volume on the next setUpPod.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject, Pod } from "@skiff/api";
// Tests only: the kubelet talks to the API server through the client, never imports it.
import { startServer } from "@skiff/apiserver";
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import t from "tap";
import { ClientObjectSource, DirVolumeManager } from "../src/index.js";

const NS = "vol-e2e";
const dir = mkdtempSync(join(tmpdir(), "skiff-vol-e2e-"));
const kubeconfig = join(dir, "admin.kubeconfig");
const server = await startServer(
  [
    ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
    ...["--write-kubeconfig", kubeconfig],
  ],
  () => {},
  silentLogger,
);
const client = new KubeClient(configFromKubeconfig(kubeconfig));
t.teardown(async () => {
  await client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const obj = (apiVersion: string, kind: string, name: string, rest: object = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: NS },
  ...rest,
});

t.test("the kube-api-access volume and a configMap volume from the API", async (t) => {
  await client
    .resource("v1", "namespaces")
    .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  // No controller manager runs here: make what its serviceaccount and root-ca publisher would.
  await client.resource("v1", "serviceaccounts", NS).create(obj("v1", "ServiceAccount", "default"));
  await client
    .resource("v1", "configmaps", NS)
    .create(obj("v1", "ConfigMap", "kube-root-ca.crt", { data: { "ca.crt": "PEM DATA" } }));
  const cms = client.resource("v1", "configmaps", NS);
  await cms.create(obj("v1", "ConfigMap", "app", { data: { mode: "one" } }));
  const pod = (await client.resource<Pod>("v1", "pods", NS).create({
    ...obj("v1", "Pod", "p"),
    spec: {
      containers: [{ name: "c", image: "busybox", volumeMounts: [{ name: "app", mountPath: "/app" }] }],
      volumes: [{ name: "app", configMap: { name: "app" } }],
    },
  } as Pod)) as Pod;
  const access = (pod.spec.volumes ?? []).find((v) => v.name.startsWith("kube-api-access-"));
  t.ok(access, "the admission added the projected token volume");

  const vm = new DirVolumeManager({
    podsDir: join(dir, "pods"),
    sources: new ClientObjectSource(client),
    nodeName: "node-a",
    logger: silentLogger,
  });
  const vols = await vm.setUpPod(pod);
  const tokenDir = vols.get(access?.name ?? "") as string;
  const token = readFileSync(join(tokenDir, "token"), "utf8");
  const claims = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as Record<
    string,
    unknown
  >;
  t.match(claims, { sub: `system:serviceaccount:${NS}:default` });
  t.match(JSON.stringify(claims), pod.metadata.uid as string, "the token is bound to the pod");
  t.equal(readFileSync(join(tokenDir, "ca.crt"), "utf8"), "PEM DATA");
  t.equal(readFileSync(join(tokenDir, "namespace"), "utf8"), NS);
  const mounts = vm.mountsFor(pod, pod.spec.containers[0] as Pod["spec"]["containers"][0], vols);
  t.same(
    mounts.map((m) => [m.containerPath, m.readOnly]),
    [
      ["/app", true],
      ["/var/run/secrets/kubernetes.io/serviceaccount", true],
    ],
  );

  t.equal(readFileSync(join(vols.get("app") as string, "mode"), "utf8"), "one");
  await cms.patch("app", { data: { mode: "two" } }, "merge");
  await vm.setUpPod(pod);
  t.equal(
    readFileSync(join(vols.get("app") as string, "mode"), "utf8"),
    "two",
    "the next sync shows the edit",
  );
  await vm.tearDownPod(pod.metadata.uid as string);
  t.same(await vm.listPods(), []);
});
