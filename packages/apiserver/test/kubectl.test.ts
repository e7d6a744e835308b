/**
 * End to end with the real kubectl: `skiff server` is started in this process on a new data
 * directory and a free port, and /usr/bin/kubectl (1.32) talks to it through the admin kubeconfig
 * the server writes. Each kubectl run gets its own HOME and --cache-dir under the test's temp
 * directory, so discovery caches never leak between runs. The subtests run in order and build on
 * each other (team-a and cm1 are made early and deleted last).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { parse, stringify } from "yaml";
import type { KubeApiServer } from "../src/kube-apiserver.js";
import { startServer } from "../src/main.js";
import { controllersFor, type RunningControllers } from "./controller-manager.js";
import { KUBECTL, kubectlRunner, kubectlSkip } from "./kubectl-runner.js";

const AGE = /^(\d+(s|m|h|d|y))+$/;

/** kubectl's column output as cells, with the AGE column's cells replaced by "<age>". */
function table(out: string): string[][] {
  const rows = out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/\s+/));
  const age = rows[0]?.indexOf("AGE") ?? -1;
  return rows.map((r, i) =>
    i === 0 || age < 0 || !AGE.test(r[age] ?? "") ? r : r.map((c, j) => (j === age ? "<age>" : c)),
  );
}

function deployment(port: number, name = "web", extraSpec = ""): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2${extraSpec}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: nginx
          image: nginx:1.25
          ports:
            - containerPort: ${port}
`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-kubectl-"));
  const dataDir = join(dir, "data");
  const kubeconfig = join(dir, "kubeconfig");
  const home = join(dir, "home");
  const cacheDir = join(dir, "cache");
  mkdirSync(home);
  const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: home };

  let running: KubeApiServer | undefined;
  let controllers: RunningControllers | undefined;
  t.teardown(async () => {
    await controllers?.stop();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const started = performance.now();
  let kubeconfigAfter: number | undefined;
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
    ],
    (line) => {
      // The server logs its ready line right after writing the kubeconfig.
      if (kubeconfigAfter === undefined && existsSync(kubeconfig))
        kubeconfigAfter = performance.now() - started;
      t.comment(`server: ${line}`);
    },
  );
  // As `skiff server`: the controller manager makes the default ServiceAccounts and
  // kube-root-ca.crt, and empties deleted namespaces.
  controllers = await controllersFor(kubeconfig);
  const url = running.url;

  const kubectl = kubectlRunner({ kubeconfig, home, cacheDir });
  const ok = kubectl.ok;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  t.test("start-up writes the kubeconfig", async (t) => {
    t.ok(existsSync(kubeconfig), "kubeconfig written");
    t.ok(kubeconfigAfter !== undefined, "kubeconfig existed when the server logged ready");
    const ms = kubeconfigAfter ?? Number.POSITIVE_INFINITY;
    t.comment(
      `startServer() to kubeconfig written: ${ms.toFixed(0)} ms (target < 2000 ms from a new data dir)`,
    );
    t.ok(ms < 10_000, "kubeconfig written within 10 s");
    t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    t.equal(parse(readFileSync(kubeconfig, "utf8")).clusters[0].cluster.server, url);
  });

  t.test("version and the initial namespaces", async (t) => {
    const v = JSON.parse(await ok(t, ["version", "-o", "json"]));
    t.equal(v.serverVersion.major, "1");
    t.equal(v.serverVersion.minor, "32");
    t.same(table(await ok(t, ["get", "ns"])), [
      ["NAME", "STATUS", "AGE"],
      ["default", "Active", "<age>"],
      ["kube-node-lease", "Active", "<age>"],
      ["kube-public", "Active", "<age>"],
      ["kube-system", "Active", "<age>"],
    ]);
  });

  t.test("namespace and configmap (protobuf bodies)", async (t) => {
    const ns = await kubectl(["create", "namespace", "team-a", "-v=8"]);
    t.equal(ns.code, 0, "create namespace", { stderr: ns.stderr });
    t.equal(ns.stdout, "namespace/team-a created\n");
    t.match(ns.stderr, /POST https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\?/);
    t.match(ns.stderr, "Content-Type: application/vnd.kubernetes.protobuf", "namespace sent as protobuf");

    const cm = await kubectl(["create", "configmap", "cm1", "-n", "team-a", "--from-literal=a=b", "-v=8"]);
    t.equal(cm.code, 0, "create configmap", { stderr: cm.stderr });
    t.equal(cm.stdout, "configmap/cm1 created\n");
    t.match(cm.stderr, "Content-Type: application/vnd.kubernetes.protobuf", "configmap sent as protobuf");

    // Every namespace gets kube-root-ca.crt from the root-ca-cert-publisher, soon after it is made.
    await waitFor(async () => (await kubectl(["get", "cm", "kube-root-ca.crt", "-n", "team-a"])).code === 0, {
      what: "kube-root-ca.crt in team-a",
    });
    t.same(table(await ok(t, ["get", "cm", "-n", "team-a"])), [
      ["NAME", "DATA", "AGE"],
      ["cm1", "1", "<age>"],
      ["kube-root-ca.crt", "1", "<age>"],
    ]);
    t.equal(await ok(t, ["get", "cm", "cm1", "-n", "team-a", "-o", "jsonpath={.data.a}"]), "b");
    const y = parse(await ok(t, ["get", "cm", "cm1", "-n", "team-a", "-o", "yaml"]));
    t.equal(y.apiVersion, "v1");
    t.equal(y.kind, "ConfigMap");
    t.same(y.data, { a: "b" });
    t.equal(y.metadata.name, "cm1");
    t.equal(y.metadata.namespace, "team-a");
    t.match(y.metadata.uid, /^[0-9a-f-]{36}$/);
    t.match(y.metadata.resourceVersion, /^\d+$/);
    t.match(y.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  t.test("apply a Deployment, change it, re-apply unchanged", async (t) => {
    const v80 = file("web-80.yaml", deployment(80));
    const v81 = file("web-81.yaml", deployment(81));
    t.equal(await ok(t, ["apply", "-f", v80]), "deployment.apps/web created\n");
    t.same(table(await ok(t, ["get", "deploy", "web", "-o", "wide"])), [
      ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
      ["web", "0/2", "0", "0", "<age>", "nginx", "nginx:1.25", "app=web"],
    ]);
    t.equal(await ok(t, ["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"]), "1");

    t.equal(await ok(t, ["apply", "-f", v81]), "deployment.apps/web configured\n");
    const d = JSON.parse(await ok(t, ["get", "deploy", "web", "-o", "json"]));
    t.equal(d.metadata.generation, 2);
    t.same(d.spec.template.spec.containers[0].ports, [{ containerPort: 81, protocol: "TCP" }]);
    t.strictSame(Object.keys(d.spec.template.spec.containers[0].ports[0]).sort(), [
      "containerPort",
      "protocol",
    ]);
    const last = JSON.parse(d.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);
    t.same(last.spec.template.spec.containers[0].ports, [{ containerPort: 81 }]);

    t.equal(await ok(t, ["apply", "-f", v81]), "deployment.apps/web unchanged\n");
    t.equal(await ok(t, ["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"]), "2");
  });

  t.test("scale, replace with a stale resourceVersion, server-side dry run", async (t) => {
    t.equal(await ok(t, ["scale", "deployment", "web", "--replicas=4"]), "deployment.apps/web scaled\n");
    t.equal(await ok(t, ["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]), "4");
    t.equal(
      await ok(t, ["get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"]),
      "3",
      "scaling changes the spec: generation bumped",
    );
    // replace with the object as it was read, after someone else changed it: 409 Conflict.
    const stale = JSON.parse(await ok(t, ["get", "deploy", "web", "-o", "json"]));
    await ok(t, ["scale", "deployment", "web", "--replicas=5"]);
    stale.spec.replicas = 7;
    const staleFile = file("web-stale.json", JSON.stringify(stale));
    const conflict = await kubectl(["replace", "-f", staleFile]);
    t.not(conflict.code, 0);
    t.match(
      conflict.stderr,
      /Conflict.*the object has been modified; please apply your changes to the latest version and try again/,
    );
    t.equal(
      await ok(t, ["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
      "5",
      "the stale replace changed nothing",
    );
    // A fresh replace goes through.
    const fresh = JSON.parse(await ok(t, ["get", "deploy", "web", "-o", "json"]));
    fresh.spec.replicas = 2;
    t.equal(
      await ok(t, ["replace", "-f", file("web-fresh.json", JSON.stringify(fresh))]),
      "deployment.apps/web replaced\n",
    );
    // Server-side dry run: validated and defaulted by the server, nothing stored.
    t.equal(
      await ok(t, ["create", "configmap", "dry", "--from-literal=k=v", "--dry-run=server"]),
      "configmap/dry created (server dry run)\n",
    );
    const gone = await kubectl(["get", "cm", "dry"]);
    t.match(gone.stderr, /configmaps "dry" not found/, "nothing was stored");
    const dryInvalid = await kubectl(["create", "configmap", "Dry_Bad", "--dry-run=server"]);
    t.match(dryInvalid.stderr, /is invalid: metadata.name/, "a server dry run still validates");
    const dryApply = await ok(t, ["apply", "-f", file("web-dry.yaml", deployment(82)), "--dry-run=server"]);
    t.match(dryApply, /deployment.apps\/web configured \(server dry run\)/);
    t.equal(
      await ok(t, [
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].ports[0].containerPort}",
      ]),
      "81",
      "the dry-run apply changed nothing",
    );
  });

  t.test("more protobuf creates: secret, quota, pdb, cronjob", async (t) => {
    t.equal(await ok(t, ["create", "secret", "generic", "s1", "--from-literal=k=v"]), "secret/s1 created\n");
    t.equal(await ok(t, ["get", "secret", "s1", "-o", "jsonpath={.type} {.data.k}"]), "Opaque dg==");
    t.same(table(await ok(t, ["get", "secret", "s1"])), [
      ["NAME", "TYPE", "DATA", "AGE"],
      ["s1", "Opaque", "1", "<age>"],
    ]);
    t.equal(
      await ok(t, ["create", "quota", "q1", "--hard=pods=30,requests.cpu=2"]),
      "resourcequota/q1 created\n",
    );
    t.same(JSON.parse(await ok(t, ["get", "quota", "q1", "-o", "jsonpath={.spec.hard}"])), {
      pods: "30",
      "requests.cpu": "2",
    });
    t.equal(
      await ok(t, ["create", "pdb", "pdb1", "--selector=app=x", "--max-unavailable=50%"]),
      "poddisruptionbudget.policy/pdb1 created\n",
    );
    t.same(JSON.parse(await ok(t, ["get", "pdb", "pdb1", "-o", "jsonpath={.spec}"])), {
      maxUnavailable: "50%",
      selector: { matchLabels: { app: "x" } },
    });
    t.equal(
      await ok(t, [
        "create",
        "cronjob",
        "cj1",
        "--image=busybox:1",
        "--schedule=*/5 * * * *",
        "--",
        "echo",
        "hi",
      ]),
      "cronjob.batch/cj1 created\n",
    );
    t.equal(
      await ok(t, [
        "get",
        "cronjob",
        "cj1",
        "-o",
        "jsonpath={.spec.schedule} {.spec.jobTemplate.spec.template.spec.containers[0].command}",
      ]),
      '*/5 * * * * ["echo","hi"]',
    );
    await ok(t, ["delete", "quota", "q1"]);
  });

  t.test("defaults are visible", async (t) => {
    const d = JSON.parse(await ok(t, ["get", "deploy", "web", "-o", "json"]));
    t.same(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
    });
    t.equal(d.spec.revisionHistoryLimit, 10);
    t.equal(d.spec.progressDeadlineSeconds, 600);
    const pod = d.spec.template.spec;
    t.equal(pod.containers[0].imagePullPolicy, "IfNotPresent");
    t.equal(pod.containers[0].terminationMessagePath, "/dev/termination-log");
    t.equal(pod.containers[0].terminationMessagePolicy, "File");
    t.equal(pod.restartPolicy, "Always");
    t.equal(pod.terminationGracePeriodSeconds, 30);
    t.equal(pod.dnsPolicy, "ClusterFirst");
    t.equal(pod.schedulerName, "default-scheduler");

    t.equal(await ok(t, ["run", "p1", "--image=busybox"]), "pod/p1 created\n");
    const p = JSON.parse(await ok(t, ["get", "pod", "p1", "-o", "json"]));
    t.equal(p.spec.containers[0].image, "busybox");
    t.equal(p.spec.containers[0].imagePullPolicy, "Always", "no tag: Always");
    t.equal(p.status.phase, "Pending");
    t.same(table(await ok(t, ["get", "pod", "p1"])), [
      ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
      ["p1", "0/1", "Pending", "0", "<age>"],
    ]);
  });

  t.test("labels, selectors, annotate, patch", async (t) => {
    t.equal(await ok(t, ["label", "cm", "cm1", "-n", "team-a", "env=prod"]), "configmap/cm1 labeled\n");
    const cm1Only = [
      ["NAME", "DATA", "AGE"],
      ["cm1", "1", "<age>"],
    ];
    t.same(table(await ok(t, ["get", "cm", "-n", "team-a", "-l", "env=prod"])), cm1Only);
    t.same(table(await ok(t, ["get", "cm", "-n", "team-a", "-l", "env in (prod,dev)"])), cm1Only);
    const none = await kubectl(["get", "cm", "-n", "team-a", "-l", "!env"]);
    t.equal(none.code, 0);
    t.same(table(none.stdout), [
      ["NAME", "DATA", "AGE"],
      ["kube-root-ca.crt", "1", "<age>"],
    ]);
    const dev = await kubectl(["get", "cm", "-n", "team-a", "-l", "env=dev"]);
    t.equal(dev.stdout, "");
    t.equal(dev.stderr, "No resources found in team-a namespace.\n");
    t.same(table(await ok(t, ["get", "cm", "-n", "team-a", "-l", "env notin (dev)"])), [
      ...cm1Only,
      ["kube-root-ca.crt", "1", "<age>"],
    ]);

    t.equal(
      await ok(t, ["annotate", "cm", "cm1", "-n", "team-a", "note=hello"]),
      "configmap/cm1 annotated\n",
    );
    t.equal(
      await ok(t, ["get", "cm", "cm1", "-n", "team-a", "-o", "jsonpath={.metadata.annotations.note}"]),
      "hello",
    );

    const merge = ["patch", "cm", "cm1", "-n", "team-a", "--type=merge", "-p", '{"data":{"x":"y"}}'];
    t.equal(await ok(t, merge), "configmap/cm1 patched\n");
    t.same(JSON.parse(await ok(t, ["get", "cm", "cm1", "-n", "team-a", "-o", "jsonpath={.data}"])), {
      a: "b",
      x: "y",
    });
    const json = [
      "patch",
      "cm",
      "cm1",
      "-n",
      "team-a",
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/data/a"}]',
    ];
    t.equal(await ok(t, json), "configmap/cm1 patched\n");
    const after = JSON.parse(await ok(t, ["get", "cm", "cm1", "-n", "team-a", "-o", "json"]));
    t.same(after.data, { x: "y" });
    t.same(after.metadata.labels, { env: "prod" });
    t.same(after.metadata.annotations, { note: "hello" });
  });

  t.test("errors", async (t) => {
    const bad = await kubectl(["create", "configmap", "Bad_Name"]);
    t.equal(bad.code, 1);
    t.equal(
      bad.stderr,
      `error: failed to create configmap: ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\n`,
    );

    const nope = await kubectl(["get", "cm", "nope"]);
    t.equal(nope.code, 1);
    t.equal(nope.stderr, 'Error from server (NotFound): configmaps "nope" not found\n');

    const twice = await kubectl(["create", "configmap", "cm1", "-n", "team-a"]);
    t.equal(twice.code, 1);
    t.equal(twice.stderr, 'error: failed to create configmap: configmaps "cm1" already exists\n');
    const twiceFile = file(
      "cm1.yaml",
      stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm1" } }),
    );
    const twiceCreate = await kubectl(["create", "-n", "team-a", "-f", twiceFile]);
    t.equal(twiceCreate.code, 1);
    t.match(
      twiceCreate.stderr,
      /^Error from server \(AlreadyExists\): error when creating ".*cm1\.yaml": configmaps "cm1" already exists\n$/,
    );

    const unknown = file("web-bad.yaml", deployment(80, "web-bad", "\n  foo: bar"));
    const strict = await kubectl(["apply", "-f", unknown]);
    t.equal(strict.code, 1);
    t.match(
      strict.stderr,
      /^Error from server \(BadRequest\): error when creating ".*web-bad\.yaml": .*unknown field "spec\.foo"/,
    );
    const absent = await kubectl(["get", "deploy", "web-bad"]);
    t.equal(
      absent.stderr,
      'Error from server (NotFound): deployments.apps "web-bad" not found\n',
      "not created",
    );

    const missing = await kubectl(["create", "configmap", "x", "-n", "missing-ns"]);
    t.equal(missing.code, 1);
    t.equal(missing.stderr, 'error: failed to create configmap: namespaces "missing-ns" not found\n');
  });

  t.test("watch prints later creations", async (t) => {
    const watcher = spawn(KUBECTL, ["--cache-dir", cacheDir, "get", "cm", "-n", "team-a", "-w"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = watcher.pid;
    if (pid === undefined) throw new Error("kubectl get -w did not start");
    let out = "";
    let err = "";
    watcher.stdout.setEncoding("utf8").on("data", (s: string) => {
      out += s;
    });
    watcher.stderr.setEncoding("utf8").on("data", (s: string) => {
      err += s;
    });
    const exited = new Promise<number | null>((resolve) => watcher.once("exit", (code) => resolve(code)));
    let stopped = false;
    t.teardown(() => {
      if (!stopped) process.kill(pid, "SIGKILL");
    });
    const until = async (what: string, pred: () => boolean) => {
      await waitFor(pred, { what, intervalMs: 50 }).catch(() => undefined);
      t.ok(pred(), what, { stdout: out, stderr: err });
    };

    await until("the initial list is printed", () => /\nkube-root-ca\.crt\s/.test(out));
    t.same(table(out), [
      ["NAME", "DATA", "AGE"],
      ["cm1", "1", "<age>"],
      ["kube-root-ca.crt", "1", "<age>"],
    ]);
    t.equal(await ok(t, ["create", "configmap", "cm2", "-n", "team-a"]), "configmap/cm2 created\n");
    await until("cm2 is printed by the watcher", () => /\ncm2\s/.test(out));
    t.same(table(out), [
      ["NAME", "DATA", "AGE"],
      ["cm1", "1", "<age>"],
      ["kube-root-ca.crt", "1", "<age>"],
      ["cm2", "0", "<age>"],
    ]);
    t.equal(err, "", "watcher stderr is empty");
    process.kill(pid, "SIGTERM");
    stopped = true;
    await exited;
  });

  t.test("discovery, OpenAPI, explain, api-resources", async (t) => {
    const index = JSON.parse(await ok(t, ["get", "--raw", "/openapi/v3"]));
    t.ok(index.paths["api/v1"], "api/v1 listed");
    t.ok(index.paths["apis/apps/v1"], "apis/apps/v1 listed");
    t.match(index.paths["apis/apps/v1"].serverRelativeURL, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);

    const explain = await ok(t, ["explain", "deployment.spec.replicas"]);
    t.match(explain, /^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n/);
    t.match(explain, /\nFIELD: replicas <integer>\n/);

    const resources = table(await ok(t, ["api-resources"]));
    t.same(resources[0], ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]);
    t.same(
      resources.find((r) => r[0] === "deployments"),
      ["deployments", "deploy", "apps/v1", "true", "Deployment"],
    );
    t.same(
      resources.find((r) => r[0] === "namespaces"),
      ["namespaces", "ns", "v1", "false", "Namespace"],
    );
    t.same(
      resources.find((r) => r[0] === "configmaps"),
      ["configmaps", "cm", "v1", "true", "ConfigMap"],
    );
  });

  t.test("delete a namespace", async (t) => {
    t.equal(await ok(t, ["delete", "ns", "team-a"]), 'namespace "team-a" deleted\n');
    let last = await kubectl(["get", "ns", "team-a"]);
    await waitFor(
      async () => {
        last = await kubectl(["get", "ns", "team-a"]);
        return last.code !== 0;
      },
      { what: "namespace team-a to go away", intervalMs: 200 },
    ).catch(() => undefined); // the checks below say what is left
    t.equal(last.code, 1);
    t.equal(last.stderr, 'Error from server (NotFound): namespaces "team-a" not found\n');
    const cms = await kubectl(["get", "cm", "-n", "team-a"]);
    t.equal(cms.stdout, "");
    t.equal(cms.stderr, "No resources found in team-a namespace.\n", "its configmaps are gone");
  });

  t.test("requests without valid credentials get 401", async (t) => {
    const config = parse(readFileSync(kubeconfig, "utf8"));
    const ca = Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64").toString(
      "utf8",
    );
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${url}/api/v1/namespaces`, { ca, headers }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (s: string) => {
            body += s;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    const status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    };
    const anonymous = await get({});
    t.equal(anonymous.status, 401, "no credentials");
    t.same(JSON.parse(anonymous.body), status);
    const wrong = await get({ authorization: "Bearer wrong" });
    t.equal(wrong.status, 401, "wrong bearer token");
    t.same(JSON.parse(wrong.body), status);

    config.users[0].user = {};
    const stripped = file("kubeconfig-no-user", stringify(config));
    const r = await kubectl(["--kubeconfig", stripped, "--token=wrong", "get", "ns"]);
    t.equal(r.code, 1);
    t.equal(r.stderr, "error: You must be logged in to the server (Unauthorized)\n");
  });
}

const skip = kubectlSkip();
if (skip === undefined) await main();
else t.comment(`skipping: ${skip}`);
