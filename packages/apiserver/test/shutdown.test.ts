/**
 * Shutdown as kube-apiserver does it: stop accepting, let requests in flight finish, end watch
 * streams cleanly (the client sees the end of the chunked response, not a reset).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
    // Ten writers, each with one write in flight at a time, until stop: whatever the machine's
    // speed, requests are inside the server when it stops.
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
    await running.stop();
    stopped = true;
    const w = await watch;
    t.equal(w.status, 200);
    t.equal(w.ended, "end", "the watch stream ended cleanly");
    await Promise.all(writers);
    for (const r of lastResults)
      t.ok(
        r.status === 201 ||
          r.status === 0 ||
          (r.status === 503 && (JSON.parse(r.body) as { reason?: string }).reason === "ServiceUnavailable"),
        `a write finished, was never accepted, or was told to retry (${r.status} ${r.body.slice(0, 80)})`,
      );
    t.ok(
      lastResults.some((r) => r.status === 201),
      "writes in flight when the server stopped finished",
    );
    const after = await call("GET", "/version");
    t.equal(after.status, 0, "no new connections after stop");
  },
);
