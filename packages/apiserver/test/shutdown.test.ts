/**
 * Shutdown as kube-apiserver does it: stop accepting, let requests in flight finish, end watch
 * streams cleanly (the client sees the end of the chunked response, not a reset).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { ClientRequest } from "node:http";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor, withDeadline } from "@skiff/testkit";
import t from "tap";
import { startServer } from "../src/main.js";

t.test(
  "stop: watches end cleanly, in-flight requests finish, nothing new is accepted",
  { timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "apiserver-shutdown-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const running = await startServer(
      ["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      () => undefined,
    );
    let stopped = false;
    t.teardown(() => (stopped ? undefined : running.stop()));
    const pki = join(dir, "data", "pki");
    const tls = {
      ca: readFileSync(join(pki, "ca.crt")),
      cert: readFileSync(join(pki, "admin.crt")),
      key: readFileSync(join(pki, "admin.key")),
    };
    const url = new URL(running.url);
    const call = (method: string, path: string, body?: unknown, onResponse?: () => void) =>
      new Promise<{ status: number; body: string; ended: "end" | "error" }>((resolve) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            method,
            path,
            ...tls,
            headers: { "content-type": "application/json" },
          },
          (res) => {
            onResponse?.();
            let text = "";
            res.on("data", (d: Buffer) => {
              text += d.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, ended: "end" }));
            res.on("error", () => resolve({ status: res.statusCode ?? 0, body: text, ended: "error" }));
          },
        );
        req.on("error", (e) => resolve({ status: 0, body: e.message, ended: "error" }));
        if (body !== undefined) req.write(JSON.stringify(body));
        req.end();
      });
    // The watch is open once its response headers arrive (the server flushes them at the start).
    let watching = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      watching = resolve;
    });
    const watch = call("GET", "/api/v1/namespaces/default/configmaps?watch=true", undefined, () =>
      watching(),
    );
    await withDeadline(started, { what: "the watch's response headers" });
    // A write inside the server when it stops: its headers are in (it holds a mutating in-flight
    // slot, as /metrics shows) and the rest of its body is sent only once stopping has begun.
    const heldBody = Buffer.from(
      JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held" }, data: { a: "b" } }),
    );
    let heldReq: ClientRequest | undefined;
    const held = new Promise<{ status: number; body: string }>((resolve) => {
      heldReq = request(
        {
          host: url.hostname,
          port: url.port,
          method: "POST",
          path: "/api/v1/namespaces/default/configmaps",
          ...tls,
          headers: { "content-type": "application/json", "content-length": String(heldBody.length) },
        },
        (res) => {
          let text = "";
          res.on("data", (d: Buffer) => {
            text += d.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      heldReq.on("error", (e) => resolve({ status: 0, body: e.message }));
      heldReq.write(heldBody.subarray(0, 10));
    });
    await waitFor(
      async () => {
        const m = await call("GET", "/metrics");
        return /apiserver_current_inflight_requests\{request_kind="mutating"\} 1\b/.test(m.body);
      },
      { what: "the held write to be inside the server", intervalMs: 20 },
    );
    // Ten writers, each with one write in flight at a time, until stop: each of their writes
    // finishes, is never accepted, or is told to retry.
    let created = 0;
    let stopping = false;
    const lastResults: { status: number; body: string }[] = [];
    const writers = Array.from({ length: 10 }, async (_, w) => {
      for (let i = 0; ; i++) {
        const r = await call("POST", "/api/v1/namespaces/default/configmaps", {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `s${w}-${i}` },
        });
        if (r.status === 201) created++;
        if (stopping) {
          lastResults.push(r);
          return;
        }
        if (r.status !== 201) throw new Error(`write before stop failed: ${r.status} ${r.body}`);
      }
    });
    await waitFor(() => created >= 20, { what: "20 writes before the stop", intervalMs: 5 });
    stopping = true;
    const stop = running.stop();
    const w = await watch;
    t.equal(w.status, 200);
    t.equal(w.ended, "end", "the watch stream ended cleanly");
    // The watch ended: the server is stopping. Now the held write may finish.
    heldReq?.end(heldBody.subarray(10));
    const h = await held;
    t.equal(h.status, 201, `the write inside the server when it stopped finished (${h.body.slice(0, 80)})`);
    await stop;
    stopped = true;
    await Promise.all(writers);
    for (const r of lastResults)
      t.ok(
        r.status === 201 ||
          r.status === 0 ||
          (r.status === 503 && (JSON.parse(r.body) as { reason?: string }).reason === "ServiceUnavailable"),
        `a write finished, was never accepted, or was told to retry (${r.status} ${r.body.slice(0, 80)})`,
      );
    const after = await call("GET", "/version");
    t.equal(after.status, 0, "no new connections after stop");
  },
);

t.test(
  "a restart on the same data directory serves what was stored before",
  { timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "apiserver-restart-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const args = ["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"];
    const pki = join(dir, "data", "pki");
    const call = async (base: string, method: string, path: string, body?: unknown) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const u = new URL(base);
        const req = request(
          {
            host: u.hostname,
            port: u.port,
            method,
            path,
            ca: readFileSync(join(pki, "ca.crt")),
            cert: readFileSync(join(pki, "admin.crt")),
            key: readFileSync(join(pki, "admin.key")),
            headers: { "content-type": "application/json" },
          },
          (res) => {
            let text = "";
            res.on("data", (d: Buffer) => {
              text += d.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    const first = await startServer(args, () => undefined);
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept" }, data: { a: "b" } };
    const created = await call(first.url, "POST", "/api/v1/namespaces/default/configmaps", cm);
    t.equal(created.status, 201);
    await first.stop();
    // The embedded store's member id comes from its fixed peer URL, so the restarted member is the
    // one its log names as the voter and elects itself again.
    const second = await startServer(args, () => undefined);
    t.teardown(() => second.stop());
    const got = await call(second.url, "GET", "/api/v1/namespaces/default/configmaps/kept");
    t.equal(got.status, 200);
    t.same((JSON.parse(got.body) as { data: unknown }).data, { a: "b" });
    t.equal(
      (JSON.parse(got.body) as { metadata: { uid: string } }).metadata.uid,
      (JSON.parse(created.body) as { metadata: { uid: string } }).metadata.uid,
      "the same object, not a new one",
    );
  },
);
