#!/usr/bin/env node
// A one-off measurement, not part of the test suite: `skiff server` (embedded store, fresh temp
// data dir) and `skiff hollow-nodes --count N` as two processes, so the hollow nodes' memory and
// CPU are their own. Prints the time to register, each process's RSS (now and peak) and CPU over an
// idle window, and the Lease renewals done in it. Both processes and the data dir are removed at
// the end. With --pods N it then creates N pods bound round robin to the nodes and times them to
// Running. Needs the build (`pnpm build`). Usage:
//   node scripts/hollow-nodes-measure.mjs [--count 5000] [--idle-seconds 60] [--pods 0] [-- hollow-nodes flags]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const skiff = join(root, "packages/cli/bin/skiff.js");
const { values, positionals } = parseArgs({
  options: {
    count: { type: "string", default: "5000" },
    "idle-seconds": { type: "string", default: "60" },
    pods: { type: "string", default: "0" },
  },
  allowPositionals: true,
});
const count = Number(values.count);
const idleMs = Number(values["idle-seconds"]) * 1000;
const podCount = Number(values.pods);
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const userHz = 100;

const dir = mkdtempSync(join(tmpdir(), "skiff-hollow-measure-"));
const children = [];

/** Starts `skiff <args>` (its own shebang: the node flags users get) and resolves with its ready line. */
function start(args, what, timeoutMs) {
  const child = spawn(skiff, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let err = "";
  child.stderr.on("data", (d) => {
    err = (err + d.toString()).slice(-4000);
  });
  return new Promise((resolvePromise, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`${what}: no ready line in ${timeoutMs} ms\n${err}`)),
      timeoutMs,
    );
    child.on("exit", (code) => reject(new Error(`${what} exited with ${code}\n${err}`)));
    child.stdout.on("data", (d) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.includes('"event":"ready"'));
      if (line === undefined) return;
      clearTimeout(timer);
      resolvePromise({ child, ready: JSON.parse(line) });
    });
  });
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / userHz;
}

function memoryMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

async function metric(address, name) {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(name)) sum += Number(line.split(" ").pop());
  return sum;
}

/** A JSON request to the API server with the kubeconfig's admin certificate (as `skiff server` writes it). */
function api(kubeconfig, method, path, body) {
  const text = readFileSync(kubeconfig, "utf8");
  const field = (name) => Buffer.from(new RegExp(`${name}: (\\S+)`).exec(text)[1], "base64");
  const url = new URL(path, /server: "?([^"\s]+)/.exec(text)[1]);
  const opts = {
    method,
    ca: field("certificate-authority-data"),
    cert: field("client-certificate-data"),
    key: field("client-key-data"),
    headers: { "content-type": "application/json" },
  };
  return new Promise((resolveRequest, reject) => {
    const req = request(url, opts, (res) => {
      let data = "";
      res.on("data", (d) => {
        data += d;
      });
      res.on("end", () =>
        res.statusCode < 300
          ? resolveRequest(JSON.parse(data))
          : reject(new Error(`${res.statusCode} ${data}`)),
      );
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * Creates `n` pods bound round robin to the nodes (16 at a time) and waits until the hollow nodes
 * have made them all Running (their metric; a list of thousands of pods every poll would load the
 * server it measures), then checks with one list. Progress every 10 s on stderr.
 */
async function podsToRunning(kubeconfig, metrics, n) {
  const began = performance.now();
  const base = await metric(metrics, 'hollow_node_pod_status_updates_total{result="success"}');
  let next = 0;
  const create = async () => {
    for (let i = next++; i < n; i = next++)
      await api(kubeconfig, "POST", "/api/v1/namespaces/default/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `measure-${i}` },
        spec: { nodeName: `hollow-${i % count}`, containers: [{ name: "app", image: "pause" }] },
      });
  };
  await Promise.all(Array.from({ length: 16 }, create));
  const created = (performance.now() - began) / 1000;
  let reported = performance.now();
  for (;;) {
    const done = (await metric(metrics, 'hollow_node_pod_status_updates_total{result="success"}')) - base;
    if (done >= n) break;
    if (performance.now() - reported >= 10_000) {
      reported = performance.now();
      const waitingPods = await metric(metrics, 'hollow_node_api_requests_waiting{lane="pod"}');
      const retries = await metric(metrics, "workqueue_retries_total");
      const depth = await metric(metrics, "workqueue_depth");
      process.stderr.write(
        `${((reported - began) / 1000).toFixed(0)} s: ${done} pods updated, queue ${depth}, ` +
          `${waitingPods} pod writes waiting, ${retries} retries\n`,
      );
    }
    await sleep(500);
  }
  const running = (performance.now() - began) / 1000;
  const list = await api(
    kubeconfig,
    "GET",
    "/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DRunning",
  );
  return { created, running, listed: list.items.length };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stop() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await Promise.all(
    children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once("exit", r)))),
  );
  rmSync(dir, { recursive: true, force: true });
}

try {
  const kubeconfig = join(dir, "kubeconfig");
  const server = await start(
    ["server", "--data-dir", join(dir, "data"), "--secure-port", "0", "--write-kubeconfig", kubeconfig],
    "skiff server",
    60_000,
  );
  const began = performance.now();
  const hollow = await start(
    [
      "hollow-nodes",
      ...["--kubeconfig", kubeconfig, "--count", String(count), "--log-level", "warn"],
      ...["--metrics-bind-address", "127.0.0.1:0"],
      ...positionals,
    ],
    "skiff hollow-nodes",
    600_000,
  );
  const registerSeconds = (performance.now() - began) / 1000;
  const metrics = hollow.ready.metrics[0];
  const registerMem = memoryMiB(hollow.child.pid);
  // Let the registration's tail (the last Leases, garbage) settle before the idle window.
  await sleep(15_000);
  const pids = { hollow: hollow.child.pid, server: server.child.pid };
  const cpu0 = { hollow: cpuSeconds(pids.hollow), server: cpuSeconds(pids.server) };
  const renewals0 = await metric(metrics, 'hollow_node_lease_renewals_total{result="success"}');
  const t0 = performance.now();
  await sleep(idleMs);
  const seconds = (performance.now() - t0) / 1000;
  const renewals = (await metric(metrics, 'hollow_node_lease_renewals_total{result="success"}')) - renewals0;
  const errors = await metric(metrics, 'hollow_node_lease_renewals_total{result="error"}');
  const waiting = await metric(metrics, "hollow_node_api_requests_waiting");
  const rows = Object.entries(pids).map(([name, pid]) => ({
    process: name,
    "rss MiB": memoryMiB(pid).rss.toFixed(0),
    "peak rss MiB": memoryMiB(pid).peak.toFixed(0),
    "idle cpu (cores)": ((cpuSeconds(pid) - cpu0[name]) / seconds).toFixed(3),
  }));
  console.log(`${count} hollow nodes: registered and informer synced in ${registerSeconds.toFixed(1)} s`);
  console.log(`hollow-nodes RSS right after registration: ${registerMem.rss.toFixed(0)} MiB`);
  console.table(rows);
  console.log(
    `idle window ${seconds.toFixed(0)} s: ${renewals} Lease renewals (${(renewals / seconds).toFixed(0)}/s; ` +
      `${count / 10}/s keeps every Lease 10 s fresh), ${errors} failed since start, ${waiting} requests waiting at the end`,
  );
  if (podCount > 0) {
    const { created, running, listed } = await podsToRunning(kubeconfig, metrics, podCount);
    const mem = memoryMiB(pids.hollow);
    console.log(
      `${podCount} pods: created in ${created.toFixed(1)} s, all updated to Running ${running.toFixed(1)} s ` +
        `after the first (${listed} listed Running); ` +
        `hollow-nodes RSS then ${mem.rss.toFixed(0)} MiB (peak ${mem.peak.toFixed(0)} MiB)`,
    );
  }
} finally {
  await stop();
}
