/**
 * The probe handlers and lifecycle hooks against real servers on 127.0.0.1, reached through a
 * dialer that maps the pod IP to loopback (as the node network's dialer maps it into the node
 * namespace): httpGet codes, redirects, headers, body limit, refused and timeouts; tcpSocket;
 * the gRPC health protocol over HTTP/2; exec through a fake execSync; postStart/preStop hooks.
 */
import { createServer, type Server } from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type { Pod } from "@skiff/api";
import { FakeClock } from "@skiff/client";
import t from "tap";
import type { KubeletContainer } from "../src/api-types.js";
import { doExecProbe } from "../src/prober/exec.js";
import { decodeHealthCheckResponse, doGRPCProbe, encodeHealthCheckRequest } from "../src/prober/grpc.js";
import { runLifecycleHandler } from "../src/prober/handlers.js";
import { doHTTPProbe, newRequestForHTTPGetAction } from "../src/prober/http.js";
import { doTCPProbe } from "../src/prober/tcp.js";
import type { ExecSync } from "../src/prober/types.js";

const POD_IP = "10.244.0.5";

/** The pod IP is served by loopback; any other host is unreachable. */
const dial = (host: string, port: number): Promise<Duplex> =>
  new Promise((resolve, reject) => {
    if (host !== POD_IP) {
      reject(Object.assign(new Error(`connect EHOSTUNREACH ${host}:${port}`), { code: "EHOSTUNREACH" }));
      return;
    }
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

const pod: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "default", uid: "uid-1" },
  spec: { containers: [{ name: "app" }] },
};

t.test("httpGet probe: codes, redirects, headers, body limit, errors", async (t) => {
  const seen: Record<string, string | undefined>[] = [];
  let port = 0;
  const sockets = new Set<net.Socket>();
  const server: Server = createServer((req, res) => {
    seen.push({
      url: req.url,
      ua: req.headers["user-agent"],
      x: req.headers["x-probe"] as string | undefined,
      host: req.headers.host,
    });
    const path = req.url ?? "";
    if (path === "/ok") res.end("fine");
    else if (path === "/bad") res.writeHead(500).end("broken");
    else if (path === "/redir") res.writeHead(302, { location: "/ok" }).end();
    else if (path === "/away") res.writeHead(302, { location: "http://other.example/" }).end("moved");
    else if (path === "/loop") res.writeHead(302, { location: "/loop" }).end();
    else if (path === "/big") res.end("x".repeat(20 * 1024));
    else if (path === "/hang") {
      /* never answers */
    } else res.writeHead(404).end();
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  port = await listen(server);
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const container: KubeletContainer = { name: "app", ports: [{ name: "http", containerPort: port }] };
  const probe = (
    path: string,
    timeoutMs = 2000,
    extra: Partial<{ headers: { name: string; value: string }[] }> = {},
  ) =>
    doHTTPProbe(
      dial,
      newRequestForHTTPGetAction(
        { path, port: "http", httpHeaders: extra.headers },
        container,
        POD_IP,
        "probe",
      ),
      timeoutMs,
    );

  t.same(await probe("/ok", 2000, { headers: [{ name: "x-probe", value: "1" }] }), {
    result: "success",
    output: "fine",
  });
  t.same(seen.at(-1), { url: "/ok", ua: "kube-probe/1.32", x: "1", host: `${POD_IP}:${port}` });
  t.same(await probe("/bad"), { result: "failure", output: "HTTP probe failed with statuscode: 500" });
  t.same(await probe("/redir"), { result: "success", output: "fine" }, "same-host redirect followed");
  t.same(
    await probe("/away"),
    { result: "warning", output: "Probe terminated redirects, Response body: moved" },
    "a redirect to another host is not followed",
  );
  t.same(await probe("/loop"), {
    result: "failure",
    output: `Get "http://${POD_IP}:${port}/loop": stopped after 10 redirects`,
  });
  const big = await probe("/big");
  t.equal(big.result, "success");
  t.equal(big.output.length, 10 * 1024, "body read up to 10 KiB");
  t.same(await probe("/hang", 300), {
    result: "failure",
    output: `Get "http://${POD_IP}:${port}/hang": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
  });
  const custom = await doHTTPProbe(
    dial,
    newRequestForHTTPGetAction(
      { path: "/ok", port, httpHeaders: [{ name: "User-Agent", value: "mine" }] },
      container,
      POD_IP,
      "probe",
    ),
    2000,
  );
  t.equal(custom.result, "success");
  t.equal(seen.at(-1)?.ua, "mine", "a User-Agent in httpHeaders wins");

  const refused = await closedPort();
  t.same(
    await doHTTPProbe(
      dial,
      newRequestForHTTPGetAction({ path: "/", port: refused }, container, POD_IP, "probe"),
      2000,
    ),
    {
      result: "failure",
      output: `Get "http://${POD_IP}:${refused}/": dial tcp ${POD_IP}:${refused}: connect: connection refused`,
    },
  );
  t.throws(
    () => newRequestForHTTPGetAction({ port: "nope" }, container, POD_IP, "probe"),
    /strconv.Atoi: parsing "nope": invalid syntax/,
    "an unknown port name is a prober error",
  );
});

t.test("tcpSocket probe: open port succeeds, closed port is refused", async (t) => {
  const server = net.createServer((s) => s.destroy());
  const port = await listen(server);
  t.teardown(() => server.close());
  t.same(await doTCPProbe(dial, POD_IP, port, 1000), { result: "success", output: "" });
  const refused = await closedPort();
  t.same(await doTCPProbe(dial, POD_IP, refused, 1000), {
    result: "failure",
    output: `dial tcp ${POD_IP}:${refused}: connect: connection refused`,
  });
  const unreachable = await doTCPProbe(dial, "10.9.9.9", 80, 1000);
  t.same(unreachable, { result: "failure", output: "dial tcp 10.9.9.9:80: connect: no route to host" });
});

/** A gRPC health server: "" SERVING, "down" NOT_SERVING, anything else NotFound. */
function healthServer(): http2.Http2Server {
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      if (headers[":path"] !== "/grpc.health.v1.Health/Check") {
        stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": "12",
            "grpc-message": "unknown service",
          },
          { endStream: true },
        );
        return;
      }
      const body = Buffer.concat(chunks);
      const msg = body.subarray(5);
      const service = msg.length === 0 ? "" : msg.subarray(2, 2 + (msg[1] as number)).toString();
      if (service !== "" && service !== "down") {
        stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": "5",
            "grpc-message": "unknown service",
          },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      const status = service === "" ? 1 : 2;
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, status]));
    });
  });
  return server;
}

t.test("grpc probe: SERVING, NOT_SERVING, errors", async (t) => {
  t.same(decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 2, 0x08, 2])), 2);
  t.same([...encodeHealthCheckRequest("ab")], [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
  const server = healthServer();
  const port = await listen(server);
  t.teardown(() => server.close());
  t.same(await doGRPCProbe(dial, POD_IP, "", port, 2000), {
    result: "success",
    output: "service is healthy",
  });
  t.same(await doGRPCProbe(dial, POD_IP, "down", port, 2000), {
    result: "failure",
    output: 'service unhealthy (responded with "NOT_SERVING")',
  });
  t.same(await doGRPCProbe(dial, POD_IP, "other", port, 2000), {
    result: "failure",
    output: "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service",
  });
  const refused = await closedPort();
  t.same(await doGRPCProbe(dial, POD_IP, "", refused, 300), {
    result: "failure",
    output: `timeout: failed to connect service "${POD_IP}:${refused}" within 0s: context deadline exceeded`,
  });
});

t.test("exec probe: exit codes, output, timeout", async (t) => {
  const calls: { id: string; cmd: readonly string[]; timeoutMs: number }[] = [];
  const execSync: ExecSync = async (id, cmd, timeoutMs) => {
    calls.push({ id, cmd, timeoutMs });
    if (cmd[0] === "true") return { exitCode: 0, stdout: "", stderr: "", timedOut: false };
    if (cmd[0] === "sleep") return { exitCode: 137, stdout: "", stderr: "", timedOut: true };
    return { exitCode: 1, stdout: Buffer.from("out "), stderr: Buffer.from("err"), timedOut: false };
  };
  t.same(await doExecProbe(execSync, "abc", ["true"], 1000), { result: "success", output: "" });
  t.same(calls[0], { id: "abc", cmd: ["true"], timeoutMs: 1000 });
  t.same(await doExecProbe(execSync, "abc", ["false"], 1000), { result: "failure", output: "out err" });
  t.same(await doExecProbe(execSync, "abc", ["sleep", "10"], 1000), {
    result: "failure",
    output: 'command "sleep 10" timed out',
  });
});

t.test("lifecycle handlers: exec, httpGet, sleep", async (t) => {
  const execSync: ExecSync = async (_id, cmd) =>
    cmd[0] === "true"
      ? { exitCode: 0, stdout: "", stderr: "", timedOut: false }
      : { exitCode: 2, stdout: "", stderr: "bad", timedOut: false };
  const container: KubeletContainer = { name: "app" };
  const deps = { dial, execSync, podIP: POD_IP };
  t.equal(
    await runLifecycleHandler(
      pod,
      container,
      "containerd://abc",
      { exec: { command: ["true"] } },
      1000,
      deps,
    ),
    undefined,
  );
  t.equal(
    await runLifecycleHandler(
      pod,
      container,
      "containerd://abc",
      { exec: { command: ["sh", "-c", "exit 2"] } },
      1000,
      deps,
    ),
    'Exec lifecycle hook ([sh -c exit 2]) for Container "app" in Pod "web_default(uid-1)" failed - error: command \'sh -c exit 2\' exited with 2: bad, message: "bad"',
  );

  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(500).end();
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  t.equal(
    await runLifecycleHandler(pod, container, "x", { httpGet: { path: "/stop", port } }, 2000, deps),
    undefined,
    "any HTTP answer is a success for a hook",
  );
  t.equal(
    await runLifecycleHandler(
      pod,
      container,
      "x",
      { httpGet: { path: "/stop", port, scheme: "HTTPS" } },
      2000,
      deps,
    ),
    undefined,
    "an HTTPS hook answered in plain HTTP is retried over HTTP",
  );
  t.equal(hits, 2);
  const refused = await closedPort();
  t.equal(
    await runLifecycleHandler(pod, container, "x", { httpGet: { path: "/stop", port: refused } }, 2000, deps),
    `HTTP lifecycle hook (/stop) for Container "app" in Pod "web_default(uid-1)" failed - error: Get "http://${POD_IP}:${refused}/stop": dial tcp ${POD_IP}:${refused}: connect: connection refused`,
  );

  const clock = new FakeClock(0);
  const sleeping = runLifecycleHandler(pod, container, "x", { sleep: { seconds: 5 } }, 30_000, {
    ...deps,
    clock,
  });
  clock.step(4999);
  let done = false;
  void sleeping.then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  t.equal(done, false, "still sleeping before 5 s");
  clock.step(1);
  t.equal(await sleeping, undefined);
  const cut = runLifecycleHandler(pod, container, "x", { sleep: { seconds: 60 } }, 2000, { ...deps, clock });
  clock.step(2000);
  t.equal(
    await cut,
    'Sleep lifecycle hook (60) for Container "app" in Pod "web_default(uid-1)" failed - error: container terminated before sleep hook finished',
  );
});
