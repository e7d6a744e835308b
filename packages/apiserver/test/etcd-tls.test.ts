/**
 * skiff server against a remote etcd over mutual TLS, with kube-apiserver's flag names
 * (--etcd-servers https://..., --etcd-cafile, --etcd-certfile, --etcd-keyfile). The etcd
 * certificates come from the same PKI code the API server uses for itself.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@skiff/testkit";
import t from "tap";
import { startServer } from "../src/main.js";
import { createCA, issueClientCert, issueServingCert } from "../src/pki/pki.js";
import { etcdBinary } from "./backends.js";

const kubectl = "/usr/bin/kubectl";
const missing = !existsSync(etcdBinary)
  ? `${etcdBinary} is missing (apt-get install etcd-server)`
  : !existsSync(kubectl)
    ? `${kubectl} is missing`
    : undefined;
if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping: ${missing}`);

t.test(
  "an API server on etcd over mutual TLS",
  { skip: process.env.CI === undefined ? missing : undefined, timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "apiserver-etcd-tls-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const ca = createCA();
    const serving = issueServingCert(ca, { hosts: ["127.0.0.1"] });
    const client = issueClientCert(ca, { commonName: "kube-apiserver-etcd-client" });
    const f = (name: string, pem: string) => {
      const p = join(dir, name);
      writeFileSync(p, pem, { mode: 0o600 });
      return p;
    };
    const [caFile, certFile, keyFile, clientCert, clientKey] = [
      f("ca.crt", ca.certPem),
      f("etcd.crt", serving.certPem),
      f("etcd.key", serving.keyPem),
      f("client.crt", client.certPem),
      f("client.key", client.keyPem),
    ];
    const url = `https://127.0.0.1:${await freePort()}`;
    const peer = `http://127.0.0.1:${await freePort()}`;
    const etcd: ChildProcess = spawn(
      etcdBinary,
      [
        ...[
          "--name",
          "e",
          "--data-dir",
          join(dir, "etcd"),
          "--listen-client-urls",
          url,
          "--advertise-client-urls",
          url,
        ],
        ...[
          "--listen-peer-urls",
          peer,
          "--initial-advertise-peer-urls",
          peer,
          "--initial-cluster",
          `e=${peer}`,
        ],
        ...[
          "--cert-file",
          certFile,
          "--key-file",
          keyFile,
          "--trusted-ca-file",
          caFile,
          "--client-cert-auth",
        ],
        ...["--log-level", "error"],
      ],
      { stdio: ["ignore", "ignore", "ignore"] },
    );
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          if (etcd.exitCode !== null || etcd.signalCode !== null) return resolve();
          etcd.once("exit", () => resolve());
          etcd.kill("SIGKILL");
        }),
    );
    const kubeconfig = join(dir, "kubeconfig");
    const server = await startServer(
      [
        ...["--data-dir", join(dir, "apiserver"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
        ...["--write-kubeconfig", kubeconfig, "--etcd-servers", url],
        ...["--etcd-cafile", caFile, "--etcd-certfile", clientCert, "--etcd-keyfile", clientKey],
      ],
      () => undefined,
    );
    t.teardown(() => server.stop());
    const run = (args: string[]) =>
      promisify(execFile)(kubectl, [...args, "--cache-dir", join(dir, "cache")], {
        env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir },
      });
    t.match(
      (await run(["create", "configmap", "over-tls", "--from-literal=a=b"])).stdout,
      /configmap\/over-tls created/,
    );
    t.equal((await run(["get", "cm", "over-tls", "-o", "jsonpath={.data.a}"])).stdout, "b");
    t.match((await run(["get", "ns"])).stdout, /kube-system\s+Active/);
  },
);
