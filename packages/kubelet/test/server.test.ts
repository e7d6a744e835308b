import { request } from "node:https";
import { createServer } from "node:net";
import t from "tap";
import { channelSession, type Fixture, startKubelet } from "./server-fixture.js";

let f: Fixture;
t.before(async () => {
  f = await startKubelet();
});
t.teardown(() => f.close());

function get(path: string, client?: { certPem: string; keyPem: string }) {
  return new Promise<{ code: number; body: string; type: string | undefined }>((resolve, reject) => {
    const req = request(`${f.url}${path}`, {
      ca: f.pki.ca.certPem,
      ...(client === undefined ? {} : { cert: client.certPem, key: client.keyPem }),
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body, type: res.headers["content-type"] }));
    });
    req.on("error", reject);
    req.end();
  });
}

const tlsOf = (c: { certPem: string; keyPem: string }) => ({
  ca: f.pki.ca.certPem,
  cert: c.certPem,
  key: c.keyPem,
});

t.test("authentication and authorization as the kubelet's", async (t) => {
  t.equal((await get("/healthz")).body, "ok", "/healthz needs no certificate");
  const anonymous = await get("/pods");
  t.equal(anonymous.code, 401);
  t.match(JSON.parse(anonymous.body), { kind: "Status", reason: "Unauthorized", code: 401 });
  const stranger = await get("/pods", f.stranger);
  t.equal(stranger.code, 403);
  t.match(
    JSON.parse(stranger.body).message,
    "Forbidden (user=bob, verb=get, resource=nodes, subresource(s)=[proxy])",
  );
  const pods = await get("/pods", f.kubeletClient);
  t.equal(pods.code, 200);
  t.match(JSON.parse(pods.body), { kind: "PodList", items: [{ metadata: { name: "p" } }] });
  t.equal((await get("/pods", f.pki.admin)).code, 200, "system:masters may too");
});

t.test("containerLogs", async (t) => {
  const r = await get("/containerLogs/default/p/c?tailLines=1&timestamps=true", f.kubeletClient);
  t.equal(r.code, 200);
  t.equal(r.type, "text/plain");
  t.equal(r.body, "line 1\nline 2\n");
  t.match(f.readLogCalls.at(-1), { tailLines: 1, timestamps: true });
  const bad = await get("/containerLogs/default/p/c?tailLines=-1", f.kubeletClient);
  t.equal(bad.code, 400);
  t.match(JSON.parse(bad.body).message, "tailLines");
  const both = await get(
    "/containerLogs/default/p/c?sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
    f.kubeletClient,
  );
  t.equal(both.code, 400);
  t.equal((await get("/containerLogs/default/nope/c", f.kubeletClient)).code, 404);
  const unknown = await get("/containerLogs/default/p/x", f.kubeletClient);
  t.equal(unknown.code, 400);
  t.match(JSON.parse(unknown.body).message, "container x is not valid for pod p");
  const waiting = await get("/containerLogs/default/p/d", f.kubeletClient);
  t.match(JSON.parse(waiting.body).message, 'container "d" in pod "p" is waiting to start');
  const previous = await get("/containerLogs/default/p/c?previous=true", f.kubeletClient);
  t.match(JSON.parse(previous.body).message, 'previous terminated container "c" in pod "p" not found');
});

const execUrl = (cmd: string[], extra = "stdout=true&stderr=true") =>
  `${f.url.replace("https", "wss")}/exec/default/p/c?${cmd.map((c) => `command=${encodeURIComponent(c)}`).join("&")}&${extra}`;

t.test("exec over v5: stdin, stdout, stderr and the exit code", async (t) => {
  const s = await channelSession(
    execUrl(["sh", "-c", "read x; echo out:$x; echo err >&2; exit 3"], "stdin=true&stdout=true&stderr=true"),
    tlsOf(f.kubeletClient),
    ["v5.channel.k8s.io", "v4.channel.k8s.io"],
    (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("hi\n")]));
      ws.send(Buffer.from([255, 0])); // v5: stdin is closed
    },
  );
  t.equal(s.protocol, "v5.channel.k8s.io");
  t.equal(s.channels.get(1)?.toString(), "out:hi\n");
  t.equal(s.channels.get(2)?.toString(), "err\n");
  t.same(s.status(), {
    metadata: {},
    status: "Failure",
    message:
      "command terminated with non-zero exit code: error executing command [sh -c read x; echo out:$x; echo err >&2; exit 3], exit code 3",
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: "3" }] },
  });
  t.equal(s.closeCode, 1000);
});

t.test("exec: the v5 close signal ends stdin (cat exits)", async (t) => {
  const s = await channelSession(
    execUrl(["cat"], "stdin=true&stdout=true"),
    tlsOf(f.kubeletClient),
    ["v5.channel.k8s.io"],
    (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("abc")]));
      ws.send(Buffer.from([255, 0]));
    },
  );
  t.equal(s.channels.get(1)?.toString(), "abc");
  t.same(s.status(), { metadata: {}, status: "Success" });
});

t.test("exec over v4, success", async (t) => {
  const s = await channelSession(execUrl(["echo", "hello"]), tlsOf(f.kubeletClient), ["v4.channel.k8s.io"]);
  t.equal(s.protocol, "v4.channel.k8s.io");
  t.equal(s.channels.get(1)?.toString(), "hello\n");
  t.same(s.status(), { metadata: {}, status: "Success" });
});

t.test("exec errors before the upgrade are Status answers", async (t) => {
  const v5 = ["v5.channel.k8s.io"];
  const noCert = await channelSession(execUrl(["true"]), { ca: f.pki.ca.certPem }, v5);
  t.equal(noCert.httpStatus, 401);
  const stranger = await channelSession(execUrl(["true"]), tlsOf(f.stranger), v5);
  t.equal(stranger.httpStatus, 403);
  const noPod = await channelSession(execUrl(["true"]).replace("/p/c", "/q/c"), tlsOf(f.kubeletClient), v5);
  t.equal(noPod.httpStatus, 404);
  t.match(JSON.parse(noPod.body ?? "{}"), { kind: "Status", message: 'pod "default/q" does not exist' });
  const noStreams = await channelSession(execUrl(["true"], "tty=false"), tlsOf(f.kubeletClient), v5);
  t.equal(noStreams.httpStatus, 400);
  t.match(noStreams.body, "you must specify at least 1 of stdin, stdout, stderr");
  const oldProtocol = await channelSession(execUrl(["true"]), tlsOf(f.kubeletClient), ["v3.channel.k8s.io"]);
  t.equal(oldProtocol.httpStatus, 400);
  t.match(oldProtocol.body, "requested protocol(s) are not supported");
  const missing = await channelSession(execUrl(["nonexistent-command-xyz"]), tlsOf(f.kubeletClient), v5);
  t.match(missing.status(), { status: "Failure" }, "a command that cannot start fails on the error channel");
  const plain = await get("/exec/default/p/c?command=true&stdout=true", f.kubeletClient);
  t.equal(plain.code, 400);
  t.match(plain.body, "Upgrade request required");
});

t.test("attach follows the log; stdin is refused with a Status", async (t) => {
  const url = `${f.url.replace("https", "wss")}/attach/default/p/c?stdout=true`;
  const refused = await channelSession(`${url}&stdin=true`, tlsOf(f.kubeletClient), ["v5.channel.k8s.io"]);
  t.match(refused.status(), { status: "Failure", message: /standard input/ });
  const attached = channelSession(url, tlsOf(f.kubeletClient), ["v5.channel.k8s.io"]);
  setImmediate(() => f.stopContainer());
  const s = await attached;
  t.equal(s.channels.get(1)?.toString(), "last line\n");
  t.same(s.status(), { metadata: {}, status: "Success" });
});

t.test("portForward over v4: port prefix, data both ways", async (t) => {
  const echo = createServer((c) => c.pipe(c));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => echo.close(() => r())));
  f.dialPort.value = (echo.address() as { port: number }).port;
  const s = await channelSession(
    `${f.url.replace("https", "wss")}/portForward/default/p?port=1`,
    tlsOf(f.kubeletClient),
    ["v4.channel.k8s.io"],
    (ws) => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("ping")]));
      ws.on("message", (d: Buffer) => {
        if (d[0] === 0 && d.subarray(1).toString().endsWith("ping")) ws.close();
      });
    },
  );
  t.equal(s.protocol, "v4.channel.k8s.io");
  const data = s.channels.get(0) as Buffer;
  t.equal(data.readUInt16LE(0), 1, "the data channel opens with the port");
  t.equal(data.subarray(2).toString(), "ping");
  t.equal(s.channels.get(1)?.readUInt16LE(0), 1, "so does the error channel");
});

/** A POST with SPDY upgrade headers (kubectl's fallback), answered with a status line and body. */
function spdyUpgrade(path: string, headers: Record<string, string>) {
  return new Promise<{ code: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request(`${f.url}${path}`, {
      method: "POST",
      ...tlsOf(f.kubeletClient),
      headers: { connection: "Upgrade", upgrade: "SPDY/3.1", ...headers },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ code: res.statusCode ?? 0, body: "", headers: res.headers });
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

t.test("portForward over plain SPDY: kube's handshake", async (t) => {
  const ok = await spdyUpgrade("/portForward/default/p", {
    "x-stream-protocol-version": "portforward.k8s.io",
  });
  t.equal(ok.code, 101);
  t.match(ok.headers, { upgrade: "SPDY/3.1", "x-stream-protocol-version": "portforward.k8s.io" });
  const other = await spdyUpgrade("/portForward/default/p", {
    "x-stream-protocol-version": "v4.channel.k8s.io",
  });
  t.equal(other.code, 403);
  t.equal(
    JSON.parse(other.body).message,
    "unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io], server accepts [portforward.k8s.io]",
  );
  const none = await spdyUpgrade("/portForward/default/p", {});
  t.equal(none.code, 400);
  const missing = await spdyUpgrade("/portForward/default/nope", {
    "x-stream-protocol-version": "portforward.k8s.io",
  });
  t.equal(missing.code, 404, "the pod is looked up first");
  const exec = await spdyUpgrade("/exec/default/p/c?command=true&stdout=true", {
    "x-stream-protocol-version": "v4.channel.k8s.io",
  });
  t.equal(exec.code, 400);
  t.match(JSON.parse(exec.body).message, "Skiff does not speak SPDY for exec and attach");
});
