#!/usr/bin/env node
// The last step of `npm start`: runs `skiff server` in the foreground (a single-node cluster with
// its embedded store and node agent; data in .skiff/ at the repository root) and, once it serves,
// prints the lines that point kubectl at it and reach its pods. Extra arguments go to `skiff
// server` (e.g. `npm start -- --secure-port 7443`). Ctrl-C or SIGTERM stops it cleanly.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const state = join(root, ".skiff");
mkdirSync(state, { recursive: true });
const kubeconfig = join(state, "kubeconfig");
const args = [
  join(root, "packages/cli/bin/skiff.js"),
  "server",
  ...["--data-dir", join(state, "data"), "--bind-address", "127.0.0.1", "--secure-port", "6443"],
  ...["--write-kubeconfig", kubeconfig],
  ...process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--")),
];
/** The embedded agent's node name: --node-name if given, else the host name (as skiff server). */
function nodeName() {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === "--node-name" || a.startsWith("--node-name="));
  if (i < 0) return hostname().toLowerCase();
  return args[i].includes("=") ? args[i].slice("--node-name=".length) : args[i + 1];
}

const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
let buffered = "";
child.stdout.on("data", (d) => {
  process.stdout.write(d);
  buffered += d.toString();
  if (buffered.includes('"event":"ready"')) {
    buffered = "";
    process.stdout.write(
      `\nSkiff is serving. In another shell:\n\n  export KUBECONFIG=${kubeconfig}\n  kubectl get nodes\n  kubectl create deployment web --image=skiff.local/busybox:latest --replicas=3 -- httpd -f -p 8080 -h /\n  kubectl get pods -o wide\n\nPod addresses live in the node's network namespace; reach them from there:\n\n  ip netns exec skiff-${nodeName()} wget -qO- http://POD_IP:8080/\n\n`,
    );
  } else if (buffered.length > 65536) buffered = buffered.slice(-1024);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
