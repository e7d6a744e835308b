/**
 * The API server's kubelet subresources end to end: `skiff server` in this process and a
 * KubeletServer with fake dependencies (server-fixture.ts) registered as Node n1, reached through
 * the `skiff.dev/kubelet-address` annotation. pods/log, exec over WebSocket (v5 frames through
 * the API server's upgrade proxy), nodes/proxy, the errors kube gives, and the real kubectl 1.32
 * (logs, exec, and port-forward over SPDY: tunneled in WebSocket and plain).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type KubeApiServer, startServer } from "@skiff/apiserver";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { channelSession, type Fixture, startKubelet } from "./server-fixture.js";

const KUBECTL = "/usr/bin/kubectl";
const dir = mkdtempSync(join(tmpdir(), "skiff-kubelet-proxy-"));
const dataDir = join(dir, "data");
const kubeconfig = join(dir, "kubeconfig");
let api: KubeApiServer;
let kubelet: Fixture;
let admin: { ca: string; cert: string; key: string };

t.before(async () => {
  api = await startServer(
    [
      "--data-dir",
      dataDir,
      "--secure-port",
      "0",
      "--write-kubeconfig",
      kubeconfig,
      "--disable-admission-plugins",
      "ServiceAccount",
    ],
    () => undefined,
  );
  kubelet = await startKubelet(dataDir);
  const pki = join(dataDir, "pki");
  admin = {
    ca: readFileSync(join(pki, "ca.crt"), "utf8"),
    cert: readFileSync(join(pki, "admin.crt"), "utf8"),
    key: readFileSync(join(pki, "admin.key"), "utf8"),
  };
  await call("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", annotations: { "skiff.dev/kubelet-address": "127.0.0.1" } },
  });
  const status = await call(
    "PATCH",
    "/api/v1/nodes/n1/status",
    {
      status: {
        addresses: [{ type: "InternalIP", address: "10.99.0.1" }],
        daemonEndpoints: { kubeletEndpoint: { Port: kubelet.server.port } },
      },
    },
    "application/merge-patch+json",
  );
  if (status.code !== 200) throw new Error(`node status: ${status.body}`);
  const pod = (name: string, nodeName?: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      ...(nodeName === undefined ? {} : { nodeName }),
      containers: [
        { name: "c", image: "busybox" },
        { name: "d", image: "busybox" },
      ],
    },
  });
  for (const [name, node] of [
    ["p", "n1"],
    ["unbound", undefined],
  ] as const) {
    const r = await call("POST", "/api/v1/namespaces/default/pods", pod(name, node));
    if (r.code !== 201) throw new Error(`pod ${name}: ${r.body}`);
  }
  // kubectl port-forward refuses a pod that is not Running.
  const running = await call(
    "PATCH",
    "/api/v1/namespaces/default/pods/p/status",
    { status: { phase: "Running" } },
    "application/merge-patch+json",
  );
  if (running.code !== 200) throw new Error(`pod status: ${running.body}`);
});

t.teardown(async () => {
  await kubelet?.close();
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
  creds: "admin" | "none" = "admin",
): Promise<{ code: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.url}${path}`, {
      method,
      ca: admin.ca,
      ...(creds === "admin" ? { cert: admin.cert, key: admin.key } : {}),
      headers: body === undefined ? {} : { "content-type": contentType },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d: Buffer) => {
        text += d.toString();
      });
      res.on("end", () =>
        resolve({ code: res.statusCode ?? 0, body: text, type: res.headers["content-type"] }),
      );
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const message = (body: string) => (JSON.parse(body) as { message: string }).message;

t.test("pods/log is proxied to the node's kubelet", async (t) => {
  const r = await call("GET", "/api/v1/namespaces/default/pods/p/log?container=c&tailLines=5");
  t.equal(r.code, 200);
  t.equal(r.type, "text/plain");
  t.equal(r.body, "line 1\nline 2\n");
  t.match(kubelet.readLogCalls.at(-1), { tailLines: 5 });
});

t.test("pods/log errors as kube's", async (t) => {
  const noContainer = await call("GET", "/api/v1/namespaces/default/pods/p/log");
  t.equal(noContainer.code, 400);
  t.equal(message(noContainer.body), "a container name must be specified for pod p, choose one of: [c d]");
  const negative = await call("GET", "/api/v1/namespaces/default/pods/p/log?container=c&tailLines=-1");
  t.equal(negative.code, 422);
  t.equal(
    message(negative.body),
    'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
  );
  const notANumber = await call("GET", "/api/v1/namespaces/default/pods/p/log?container=c&tailLines=x");
  t.equal(notANumber.code, 400);
  const unknown = await call("GET", "/api/v1/namespaces/default/pods/p/log?container=x");
  t.equal(unknown.code, 400);
  t.equal(message(unknown.body), "container x is not valid for pod p");
  const missing = await call("GET", "/api/v1/namespaces/default/pods/nope/log");
  t.equal(missing.code, 404);
  const unbound = await call("GET", "/api/v1/namespaces/default/pods/unbound/log?container=c");
  t.equal(unbound.code, 200, "a pod on no node has an empty log, as kube's");
  t.equal(unbound.body, "");
  const fromKubelet = await call("GET", "/api/v1/namespaces/default/pods/p/log?container=d");
  t.equal(fromKubelet.code, 400, "the kubelet's error passes through");
  t.match(message(fromKubelet.body), 'container "d" in pod "p" is waiting to start');
});

const wsBase = () => api.url.replace("https", "wss");

t.test("exec over WebSocket through the API server (v5 frames end to end)", async (t) => {
  const cmd = ["sh", "-c", "read x; echo out:$x; echo err >&2; exit 3"]
    .map((c) => `command=${encodeURIComponent(c)}`)
    .join("&");
  const s = await channelSession(
    `${wsBase()}/api/v1/namespaces/default/pods/p/exec?container=c&${cmd}&stdin=true&stdout=true&stderr=true`,
    admin,
    ["v5.channel.k8s.io", "v4.channel.k8s.io"],
    (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("hi\n")]));
      ws.send(Buffer.from([255, 0]));
    },
  );
  t.equal(s.protocol, "v5.channel.k8s.io");
  t.equal(s.channels.get(1)?.toString(), "out:hi\n");
  t.equal(s.channels.get(2)?.toString(), "err\n");
  t.match(s.status(), {
    status: "Failure",
    reason: "NonZeroExitCode",
    details: { causes: [{ message: "3" }] },
  });
  t.equal(s.closeCode, 1000);
});

t.test("exec errors", async (t) => {
  const v5 = ["v5.channel.k8s.io"];
  const path = "/api/v1/namespaces/default/pods";
  const anonymous = await channelSession(
    `${wsBase()}${path}/p/exec?container=c&command=true&stdout=true`,
    { ca: admin.ca },
    v5,
  );
  t.equal(anonymous.httpStatus, 401);
  const unbound = await channelSession(
    `${wsBase()}${path}/unbound/exec?container=c&command=true&stdout=true`,
    admin,
    v5,
  );
  t.equal(unbound.httpStatus, 400);
  t.equal(message(unbound.body ?? ""), "pod unbound does not have a host assigned");
  const missing = await channelSession(`${wsBase()}${path}/nope/exec?command=true&stdout=true`, admin, v5);
  t.equal(missing.httpStatus, 404);
  const unknown = await channelSession(
    `${wsBase()}${path}/p/exec?container=x&command=true&stdout=true`,
    admin,
    v5,
  );
  t.equal(unknown.httpStatus, 400);
  const notRunning = await channelSession(
    `${wsBase()}${path}/p/exec?container=d&command=true&stdout=true`,
    admin,
    v5,
  );
  t.match(notRunning.status(), { status: "Failure", message: 'container "d" in pod "p" is not running' });
  const spdy = await new Promise<{ code: number; body: string }>((resolve, reject) => {
    const req = request(`${api.url}${path}/p/exec?container=c&command=true&stdout=true`, {
      method: "POST",
      ca: admin.ca,
      cert: admin.cert,
      key: admin.key,
      headers: {
        connection: "Upgrade",
        upgrade: "SPDY/3.1",
        "x-stream-protocol-version": "v4.channel.k8s.io",
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
  t.equal(spdy.code, 400);
  t.match(message(spdy.body), "Skiff does not speak SPDY");
});

t.test("nodes/proxy reaches the kubelet's own paths", async (t) => {
  const pods = await call("GET", "/api/v1/nodes/n1/proxy/pods");
  t.equal(pods.code, 200);
  t.match(JSON.parse(pods.body), { kind: "PodList", items: [{ metadata: { name: "p" } }] });
  const healthz = await call("GET", "/api/v1/nodes/n1/proxy/healthz");
  t.equal(healthz.body, "ok");
  t.equal((await call("GET", "/api/v1/nodes/n2/proxy/pods")).code, 404);
});

t.test("discovery lists the kubelet subresources", async (t) => {
  const list = JSON.parse((await call("GET", "/api/v1")).body) as {
    resources: { name: string; kind: string; verbs: string[] }[];
  };
  const find = (n: string) => list.resources.find((r) => r.name === n);
  t.match(find("pods/exec"), { kind: "PodExecOptions", verbs: ["create", "get"] });
  t.match(find("pods/log"), { kind: "Pod", verbs: ["get"] });
  t.match(find("pods/attach"), { kind: "PodAttachOptions" });
  t.match(find("pods/portforward"), { kind: "PodPortForwardOptions" });
  t.match(find("nodes/proxy"), { kind: "NodeProxyOptions" });
});

const kubectlMissing =
  !existsSync(KUBECTL) && process.env.CI !== "true" ? `${KUBECTL} is not installed` : false;

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  return new Promise((resolve) =>
    execFile(
      KUBECTL,
      ["--cache-dir", join(dir, "cache"), ...args],
      { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: home }, timeout: 60_000, encoding: "utf8" },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    ),
  );
}

t.test("the real kubectl: logs and exec", { skip: kubectlMissing }, async (t) => {
  const logs = await kubectl(["logs", "p", "-c", "c"]);
  t.equal(logs.code, 0, logs.stderr);
  t.equal(logs.stdout, "line 1\nline 2\n");
  // kubectl picks the first container itself when none is named.
  const defaulted = await kubectl(["logs", "p"]);
  t.equal(defaulted.code, 0);
  t.match(defaulted.stderr, 'Defaulted container "c" out of: c, d');
  const waiting = await kubectl(["logs", "p", "-c", "d"]);
  t.equal(waiting.code, 1);
  t.match(waiting.stderr, 'Error from server (BadRequest): container "d" in pod "p" is waiting to start');
  const ok = await kubectl(["exec", "p", "-c", "c", "--", "echo", "hello"]);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout, "hello\n");
  const exit3 = await kubectl(["exec", "p", "-c", "c", "--", "sh", "-c", "echo boom >&2; exit 3"]);
  t.equal(exit3.code, 3, "kubectl exits with the command's code");
  t.match(exit3.stderr, "boom");
  const stdin = await new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = execFile(
      KUBECTL,
      ["--cache-dir", join(dir, "cache"), "exec", "-i", "p", "-c", "c", "--", "cat"],
      {
        env: { ...process.env, KUBECONFIG: kubeconfig, HOME: join(dir, "home") },
        timeout: 60_000,
        encoding: "utf8",
      },
      (err, stdout) => resolve({ code: err === null ? 0 : Number(err.code), stdout }),
    );
    child.stdin?.end("from stdin\n");
  });
  t.equal(stdin.code, 0);
  t.equal(stdin.stdout, "from stdin\n", "kubectl exec -i: stdin reaches the command and its end closes it");
});

interface PortForward {
  child: ChildProcess;
  localPort: number;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `kubectl port-forward` and waits for it to say which local port it listens on. */
async function portForward(t: Test, args: string[], env: Record<string, string> = {}): Promise<PortForward> {
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  const child = spawn(
    KUBECTL,
    ["--cache-dir", join(dir, "cache"), "port-forward", "--address", "127.0.0.1", ...args],
    {
      env: { ...process.env, KUBECONFIG: kubeconfig, HOME: home, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  t.teardown(async () => {
    if (running && child.pid !== undefined) process.kill(child.pid, "SIGTERM");
    await exited;
  });
  const m = await waitFor(
    () => /Forwarding from 127\.0\.0\.1:(\d+) -> \d+/.exec(out) ?? (!running && "exited"),
    {
      what: "kubectl port-forward to listen",
    },
  );
  if (m === "exited") throw new Error(`kubectl port-forward exited: ${out}`);
  return { child, localPort: Number(m[1]), output: () => out, exited };
}

/** Sends `text` on a new connection to the local port and resolves with what comes back until the server ends. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, "127.0.0.1");
    let got = "";
    c.on("data", (d: Buffer) => {
      got += d.toString();
      // The echo server answers everything sent; then this side closes, which ends the stream.
      if (got.length >= text.length) c.end();
    });
    c.once("connect", () => c.write(text));
    c.once("close", () => resolve(got));
    c.once("error", reject);
  });
}

async function echoServer(t: Test): Promise<number> {
  const echo: Server = createServer((c) => {
    c.on("error", () => undefined);
    c.pipe(c);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => echo.close(() => r())));
  return (echo.address() as { port: number }).port;
}

for (const [name, transport, env] of [
  ["SPDY tunneled in WebSocket (kubectl's default)", "websocket", {}],
  [
    "plain SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)",
    "upgrade",
    { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" },
  ],
] as const) {
  t.test(`the real kubectl: port-forward over ${name}`, { skip: kubectlMissing }, async (t) => {
    kubelet.dialPorts.set(8080, await echoServer(t));
    kubelet.debugLogs.length = 0;
    const pf = await portForward(t, ["pod/p", "0:8080"], env);
    t.match(pf.output(), /Forwarding from 127\.0\.0\.1:\d+ -> 8080/);
    t.equal(await roundTrip(pf.localPort, "hello through the pod\n"), "hello through the pod\n");
    // Several connections, at once, over the one SPDY connection kubectl keeps.
    const big = "x".repeat(300_000);
    const [a, b, c] = await Promise.all([
      roundTrip(pf.localPort, "first"),
      roundTrip(pf.localPort, "second"),
      roundTrip(pf.localPort, big),
    ]);
    t.equal(a, "first");
    t.equal(b, "second");
    t.equal(c.length, big.length, "a large write comes back whole");
    t.equal(c, big);
    t.equal(pf.child.exitCode, null, "kubectl is still forwarding");
    t.same(
      kubelet.debugLogs.filter((l) => l.msg === "port-forward over SPDY").map((l) => l.obj.transport),
      [transport],
      "one SPDY connection, over the expected transport",
    );
    process.kill(pf.child.pid as number, "SIGTERM");
    await pf.exited;
  });
}

t.test("the real kubectl: port-forward to a port nothing listens on", { skip: kubectlMissing }, async (t) => {
  // A port that was just free: connecting to it is refused.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const refused = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  kubelet.dialPorts.set(8081, refused);
  const pf = await portForward(t, ["pod/p", "0:8081"]);
  const got = await roundTrip(pf.localPort, "anyone?");
  t.equal(got, "", "nothing comes back");
  await waitFor(() => /error forwarding port 8081/.test(pf.output()), { what: "kubectl to print the error" });
  t.match(
    pf.output(),
    new RegExp(
      `an error occurred forwarding ${pf.localPort} -> 8081: error forwarding port 8081 to pod u1, uid : .*ECONNREFUSED`,
    ),
  );
});
