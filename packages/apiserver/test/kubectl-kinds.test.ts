/**
 * kubectl 1.32 against `skiff server` for the kinds the scheduler and kubelet list at start:
 * `kubectl api-resources` lists them, `kubectl get priorityclasses` shows the two system classes,
 * `kubectl get events` has kube's columns (NAME only with -o wide), `kubectl create priorityclass`
 * and `kubectl certificate approve` (protobuf bodies) work. Each kubectl run has its own HOME and
 * --cache-dir under the test's temp directory.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import type { KubeApiServer } from "../src/kube-apiserver.js";
import { startServer } from "../src/main.js";
import { controllersFor, type RunningControllers } from "./controller-manager.js";
import { kubectlRunner, kubectlSkip } from "./kubectl-runner.js";

/** The header line of kubectl's column output, with runs of spaces collapsed. */
const header = (out: string) => (out.split("\n")[0] ?? "").trim().replace(/ {2,}/g, " | ");
const rows = (out: string) =>
  out
    .split("\n")
    .slice(1)
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/ {2,}/));

const CSR_PEM = Buffer.from(
  "-----BEGIN CERTIFICATE REQUEST-----\nMIIBADCBpwIBADAPMQ0wCwYDVQQDDARub2RlMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n-----END CERTIFICATE REQUEST-----\n",
).toString("base64");

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-kubectl-kinds-"));
  const kubeconfig = join(dir, "kubeconfig");
  const home = join(dir, "home");
  const cacheDir = join(dir, "cache");
  mkdirSync(home);
  let running: KubeApiServer | undefined;
  let controllers: RunningControllers | undefined;
  t.teardown(async () => {
    await controllers?.stop();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  running = await startServer(
    [
      ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      ...["--write-kubeconfig", kubeconfig],
    ],
    () => undefined,
  );
  // As `skiff server`: the controller manager's namespace controllers beside the API server.
  controllers = await controllersFor(kubeconfig);

  const kubectl = kubectlRunner({ kubeconfig, home, cacheDir });
  const ok = kubectl.ok;
  const file = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  t.test("kubectl api-resources lists the new kinds", async (t) => {
    const out = await ok(t, ["api-resources", "--no-headers"]);
    const lines = out.split("\n").map((l) => l.trim().split(/\s+/));
    const find = (name: string, apiVersion: string) =>
      lines.find((l) => l[0] === name && l.includes(apiVersion));
    const want: [string, string, string | undefined, string, string][] = [
      ["priorityclasses", "scheduling.k8s.io/v1", "pc", "false", "PriorityClass"],
      ["storageclasses", "storage.k8s.io/v1", "sc", "false", "StorageClass"],
      ["csinodes", "storage.k8s.io/v1", undefined, "false", "CSINode"],
      ["csidrivers", "storage.k8s.io/v1", undefined, "false", "CSIDriver"],
      ["csistoragecapacities", "storage.k8s.io/v1", undefined, "true", "CSIStorageCapacity"],
      ["persistentvolumes", "v1", "pv", "false", "PersistentVolume"],
      ["persistentvolumeclaims", "v1", "pvc", "true", "PersistentVolumeClaim"],
      ["runtimeclasses", "node.k8s.io/v1", undefined, "false", "RuntimeClass"],
      ["events", "events.k8s.io/v1", "ev", "true", "Event"],
      ["events", "v1", "ev", "true", "Event"],
      ["controllerrevisions", "apps/v1", undefined, "true", "ControllerRevision"],
      ["horizontalpodautoscalers", "autoscaling/v2", "hpa", "true", "HorizontalPodAutoscaler"],
      ["certificatesigningrequests", "certificates.k8s.io/v1", "csr", "false", "CertificateSigningRequest"],
    ];
    for (const [name, apiVersion, short, namespaced, kind] of want) {
      const line = find(name, apiVersion);
      t.same(line, [name, ...(short ? [short] : []), apiVersion, namespaced, kind], `${name} ${apiVersion}`);
    }
    const wide = await ok(t, ["api-resources", "-o", "wide", "--no-headers"]);
    const ns = wide.split("\n").find((l) => /^namespaces\s/.test(l.trim()));
    t.match(ns, /\screate,delete,get,list,patch,update,watch\s/, "namespaces without deletecollection");
  });

  t.test("kubectl get priorityclasses shows the system classes", async (t) => {
    const out = await ok(t, ["get", "priorityclasses"]);
    t.equal(header(out), "NAME | VALUE | GLOBAL-DEFAULT | AGE | PREEMPTIONPOLICY");
    const r = rows(out).map((c) => [c[0], c[1], c[2], c[4]]);
    t.same(r, [
      ["system-cluster-critical", "2000000000", "false", "PreemptLowerPriority"],
      ["system-node-critical", "2000001000", "false", "PreemptLowerPriority"],
    ]);
    t.equal(
      await ok(t, ["create", "priorityclass", "high", "--value=1000", "--description=important"]),
      "priorityclass.scheduling.k8s.io/high created\n",
    );
    t.equal(
      await ok(t, ["get", "pc", "high", "-o", "jsonpath={.value} {.preemptionPolicy}"]),
      "1000 PreemptLowerPriority",
    );
    const explain = await ok(t, ["explain", "priorityclass.preemptionPolicy"]);
    t.match(explain, /GROUP:\s+scheduling\.k8s\.io/);
    t.match(explain, /FIELD: preemptionPolicy <string>/);
    const del = await kubectl(["delete", "pc", "system-node-critical"]);
    t.not(del.code, 0);
    t.match(del.stderr, /this is a system priority class and cannot be deleted/);
  });

  t.test("kubectl get events: kube's columns, NAME only with -o wide", async (t) => {
    const ev = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web.1", namespace: "default" },
      involvedObject: { kind: "Pod", namespace: "default", name: "web", fieldPath: "spec.containers{c}" },
      reason: "Pulled",
      message: "Successfully pulled image",
      type: "Normal",
      source: { component: "kubelet", host: "node-1" },
      count: 2,
      firstTimestamp: new Date(Date.now() - 120_000).toISOString().replace(/\.\d+Z$/, "Z"),
      lastTimestamp: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, "Z"),
    };
    await ok(t, ["create", "-f", file("ev.json", ev)]);
    const out = await ok(t, ["get", "events"]);
    t.equal(header(out), "LAST SEEN | TYPE | REASON | OBJECT | MESSAGE");
    t.same(rows(out)[0]?.slice(1), ["Normal", "Pulled", "pod/web", "Successfully pulled image"]);
    const wide = await ok(t, ["get", "events", "-o", "wide"]);
    t.equal(
      header(wide),
      "LAST SEEN | TYPE | REASON | OBJECT | SUBOBJECT | SOURCE | MESSAGE | FIRST SEEN | COUNT | NAME",
    );
    t.same(rows(wide)[0]?.slice(1), [
      "Normal",
      "Pulled",
      "pod/web",
      "spec.containers{c}",
      "kubelet, node-1",
      "Successfully pulled image",
      rows(wide)[0]?.[7],
      "2",
      "web.1",
    ]);
    const y = JSON.parse(await ok(t, ["get", "events.v1.events.k8s.io", "web.1", "-o", "json"]));
    t.match(y, {
      apiVersion: "events.k8s.io/v1",
      note: "Successfully pulled image",
      regarding: { name: "web" },
    });
  });

  t.test("kubectl certificate approve (protobuf PUT to /approval)", async (t) => {
    const csr = {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: "node-csr" },
      spec: { request: CSR_PEM, signerName: "kubernetes.io/kube-apiserver-client", usages: ["client auth"] },
    };
    await ok(t, ["create", "-f", file("csr.json", csr)]);
    t.equal(
      await ok(t, ["certificate", "approve", "node-csr"]),
      "certificatesigningrequest.certificates.k8s.io/node-csr approved\n",
    );
    const out = await ok(t, ["get", "csr"]);
    t.equal(header(out), "NAME | AGE | SIGNERNAME | REQUESTOR | REQUESTEDDURATION | CONDITION");
    const row = rows(out)[0] ?? [];
    t.equal(row[0], "node-csr");
    t.equal(row.at(-1), "Approved");
  });

  t.test("kubectl autoscale (protobuf autoscaling/v1 HPA, read as v2) and get hpa", async (t) => {
    await ok(t, ["create", "deployment", "web", "--image=nginx:1.27"]);
    t.equal(
      await ok(t, ["autoscale", "deployment", "web", "--max=5", "--cpu-percent=70"]),
      "horizontalpodautoscaler.autoscaling/web autoscaled\n",
    );
    const hpa = JSON.parse(await ok(t, ["get", "hpa", "web", "-o", "json"]));
    t.match(hpa, {
      apiVersion: "autoscaling/v2",
      spec: {
        scaleTargetRef: { kind: "Deployment", name: "web", apiVersion: "apps/v1" },
        minReplicas: 1,
        maxReplicas: 5,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
          },
        ],
      },
    });
    const out = await ok(t, ["get", "hpa"]);
    t.equal(header(out), "NAME | REFERENCE | TARGETS | MINPODS | MAXPODS | REPLICAS | AGE");
    t.same(rows(out)[0]?.slice(0, 6), ["web", "Deployment/web", "cpu: <unknown>/70%", "1", "5", "0"]);
  });

  t.test("kubectl get pv,pvc,sc", async (t) => {
    await ok(t, [
      "create",
      "-f",
      file("pv.json", {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: "pv1" },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce", "ReadOnlyMany"],
          hostPath: { path: "/tmp/x" },
        },
      }),
    ]);
    const pv = await ok(t, ["get", "pv"]);
    t.equal(
      header(pv),
      "NAME | CAPACITY | ACCESS MODES | RECLAIM POLICY | STATUS | CLAIM | STORAGECLASS | VOLUMEATTRIBUTESCLASS | REASON | AGE",
    );
    t.same(rows(pv)[0]?.slice(0, 5), ["pv1", "1Gi", "RWO,ROX", "Retain", "Pending"]);
    const sc = file("sc.json", {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "local", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "kubernetes.io/no-provisioner",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    await ok(t, ["create", "-f", sc]);
    const scs = await ok(t, ["get", "sc"]);
    t.equal(
      header(scs),
      "NAME | PROVISIONER | RECLAIMPOLICY | VOLUMEBINDINGMODE | ALLOWVOLUMEEXPANSION | AGE",
    );
    t.same(rows(scs)[0]?.slice(0, 5), [
      "local (default)",
      "kubernetes.io/no-provisioner",
      "Delete",
      "WaitForFirstConsumer",
      "false",
    ]);
  });
}

const skip = kubectlSkip();
if (skip === undefined) await main();
else t.comment(`skipping: ${skip}`);
