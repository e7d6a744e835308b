import { execFile, execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import t, { type Test } from "tap";
import { parse } from "yaml";
import { writeKubeconfig } from "../src/pki/kubeconfig.js";
import { createCA, ensurePki, issueClientCert, type KeyPair } from "../src/pki/pki.js";
import { ipBytes } from "../src/pki/x509.js";

const OPENSSL = "/usr/bin/openssl";
const KUBECTL = "/usr/bin/kubectl";
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const dir = mkdtempSync(join(tmpdir(), "skiff-pki-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const now = new Date();
now.setUTCMilliseconds(0);
const hosts = ["skiff.example.com", "10.1.2.3", "fd00::17"];
const started = performance.now();
const first = ensurePki(dir, { hosts, now });
const elapsed = performance.now() - started;
const pki = join(dir, "pki");

const fingerprint = (p: KeyPair): string => new X509Certificate(p.certPem).fingerprint256;
const mode = (file: string): number => statSync(file).mode & 0o777;

// A figure, not an assertion: how fast depends on the machine (typically 15-45 ms).
t.comment(`ensurePki took ${elapsed.toFixed(1)} ms for the CA and two key pairs`);

t.test("files and modes", async (t) => {
  for (const name of ["ca", "apiserver", "admin"]) {
    t.equal(mode(join(pki, `${name}.key`)), 0o600, `${name}.key is 0600`);
    t.equal(
      readFileSync(join(pki, `${name}.crt`), "utf8"),
      first[name === "apiserver" ? "serving" : (name as "ca" | "admin")].certPem,
    );
  }
});

t.test("certificates parse and chain to the CA", async (t) => {
  const ca = new X509Certificate(first.ca.certPem);
  const serving = new X509Certificate(first.serving.certPem);
  const admin = new X509Certificate(first.admin.certPem);
  t.equal(ca.ca, true, "CA is a CA");
  t.equal(serving.ca, false);
  t.equal(admin.ca, false);
  t.ok(ca.checkIssued(ca), "CA is self-issued");
  t.ok(ca.verify(ca.publicKey), "CA is self-signed");
  for (const cert of [serving, admin]) {
    t.ok(cert.checkIssued(ca), "issued by the CA");
    t.ok(cert.verify(ca.publicKey), "signed by the CA key");
    t.equal(cert.issuer, ca.subject);
  }
  t.equal(serving.checkHost("localhost"), "localhost");
  t.equal(serving.checkHost("skiff.example.com"), "skiff.example.com");
  t.equal(serving.checkHost("other.example.com"), undefined);
  t.equal(serving.checkIP("127.0.0.1"), "127.0.0.1");
  t.equal(serving.checkIP("::1"), "::1");
  t.equal(serving.checkIP("10.1.2.3"), "10.1.2.3");
  t.equal(serving.checkIP("fd00::17"), "fd00::17");
  t.equal(serving.checkIP("10.1.2.4"), undefined);
  t.match(admin.subject, /CN=skiff-admin/);
  t.match(admin.subject, /O=system:masters/);
  t.equal(admin.subjectAltName, undefined);
  t.match(serving.keyUsage ?? [], ["1.3.6.1.5.5.7.3.1"]);
  t.match(admin.keyUsage ?? [], ["1.3.6.1.5.5.7.3.2"]);
  t.ok(/^[0-7][0-9A-F]{31}$/.test(serving.serialNumber), `positive 16-byte serial ${serving.serialNumber}`);

  const from = now.getTime() - HOUR;
  for (const cert of [ca, serving, admin])
    t.equal(new Date(cert.validFrom).getTime(), from, "valid from now-1h");
  t.equal(new Date(ca.validTo).getTime(), now.getTime() + 3650 * DAY, "CA: 10 years");
  t.equal(new Date(serving.validTo).getTime(), now.getTime() + 365 * DAY, "serving: 1 year");
  t.equal(new Date(admin.validTo).getTime(), now.getTime() + 365 * DAY, "admin: 1 year");
});

t.test("openssl agrees", async (t) => {
  const run = (...args: string[]): string => execFileSync(OPENSSL, args, { encoding: "utf8" });
  const caFile = join(pki, "ca.crt");
  t.match(run("verify", "-CAfile", caFile, join(pki, "apiserver.crt")), /apiserver\.crt: OK/);
  t.match(run("verify", "-CAfile", caFile, join(pki, "admin.crt")), /admin\.crt: OK/);
  t.match(run("verify", "-CAfile", caFile, "-purpose", "sslserver", join(pki, "apiserver.crt")), /OK/);
  t.match(run("verify", "-CAfile", caFile, "-purpose", "sslclient", join(pki, "admin.crt")), /OK/);
  const caText = run("x509", "-in", caFile, "-noout", "-text");
  t.match(caText, /CA:TRUE/);
  t.match(caText, /Certificate Sign, CRL Sign/);
  const text = run("x509", "-in", join(pki, "apiserver.crt"), "-noout", "-text");
  for (const san of [
    "DNS:localhost",
    "DNS:skiff.example.com",
    "IP Address:127.0.0.1",
    "IP Address:10.1.2.3",
  ]) {
    t.match(text, san);
  }
  t.match(text, /IP Address:0:0:0:0:0:0:0:1|IP Address:::1/);
  t.match(text, /IP Address:FD00:0:0:0:0:0:0:17|IP Address:fd00::17/i);
  t.match(text, /CA:FALSE/);
  t.match(text, /TLS Web Server Authentication/);
  t.match(text, /X509v3 Subject Key Identifier/);
  t.match(text, /X509v3 Authority Key Identifier/);
  const other = createCA();
  const otherFile = join(dir, "other-ca.crt");
  writeFileSync(otherFile, other.certPem);
  t.throws(
    () => execFileSync(OPENSSL, ["verify", "-CAfile", otherFile, join(pki, "admin.crt")], { stdio: "pipe" }),
    "another CA does not verify the admin cert",
  );
});

t.test("GeneralizedTime from 2050 on", async (t) => {
  const cert = issueClientCert(first.ca, {
    commonName: "late",
    now: new Date("2045-06-01T00:00:00Z"),
    days: 3650,
  });
  const x = new X509Certificate(cert.certPem);
  t.equal(new Date(x.validTo).toISOString(), "2055-05-30T00:00:00.000Z");
  t.equal(new Date(x.validFrom).toISOString(), "2045-05-31T23:00:00.000Z");
  const der = x.raw;
  t.ok(der.includes(Buffer.from("20550530000000Z")), "GeneralizedTime encoding");
  t.ok(der.includes(Buffer.from("450531230000Z")), "UTCTime encoding");
});

t.test("IP address encoding", async (t) => {
  const hex = (ip: string): string | undefined => ipBytes(ip)?.toString("hex");
  t.equal(hex("10.1.2.3"), "0a010203");
  t.equal(hex("::1"), "00000000000000000000000000000001");
  t.equal(hex("::"), "00000000000000000000000000000000");
  t.equal(hex("1::"), "00010000000000000000000000000000");
  t.equal(hex("2001:db8::1:0:0:1"), "20010db8000000000001000000000001");
  t.equal(hex("1:2:3:4:5:6:7:8"), "00010002000300040005000600070008");
  t.equal(hex("::ffff:1.2.3.4"), "00000000000000000000ffff01020304");
  t.equal(hex("1:2:3:4:5:6:1.2.3.4"), "00010002000300040005000601020304");
  t.equal(hex("fe80::1%eth0"), "fe800000000000000000000000000001");
  t.equal(hex("example.com"), undefined);
});

interface Handshake {
  port: number;
  /** The CNs of the clients the server accepted. */
  accepted: string[];
  clientErrors: Error[];
}

async function tlsServer(t: Test): Promise<Handshake> {
  const clientErrors: Error[] = [];
  const accepted: string[] = [];
  const server = createServer(
    {
      cert: first.serving.certPem,
      key: first.serving.keyPem,
      ca: [first.ca.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      const cn = String(socket.getPeerCertificate().subject?.CN);
      accepted.push(cn);
      socket.end(`hello ${cn}`);
    },
  );
  server.on("tlsClientError", (err) => clientErrors.push(err));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, accepted, clientErrors };
}

function talk(port: number, opts: { cert?: string; key?: string; servername?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    const socket: TLSSocket = connect({
      host: "127.0.0.1",
      port,
      servername: opts.servername ?? "localhost",
      ca: [first.ca.certPem],
      ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
    });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      data += chunk;
    });
    socket.on("error", reject);
    socket.on("end", () => (data ? resolve(data) : reject(new Error("closed without data"))));
  });
}

t.test("TLS handshake with mutual authentication", async (t) => {
  const { port, accepted, clientErrors } = await tlsServer(t);
  t.equal(await talk(port, { cert: first.admin.certPem, key: first.admin.keyPem }), "hello skiff-admin");
  const kubelet = issueClientCert(first.ca, {
    commonName: "system:node:n1",
    organizations: ["system:nodes"],
  });
  t.equal(await talk(port, { cert: kubelet.certPem, key: kubelet.keyPem }), "hello system:node:n1");

  const other = createCA();
  const stranger = issueClientCert(other, { commonName: "skiff-admin", organizations: ["system:masters"] });
  await t.rejects(talk(port, { cert: stranger.certPem, key: stranger.keyPem }), "a cert from another CA");
  await t.rejects(talk(port, {}), "no client cert");
  t.same(accepted, ["skiff-admin", "system:node:n1"], "the server accepted only the CA's clients");
  t.ok(clientErrors.length >= 2, `server rejected: ${clientErrors.map((e) => e.message).join("; ")}`);
  await t.rejects(
    talk(port, { cert: first.admin.certPem, key: first.admin.keyPem, servername: "wrong.example.org" }),
    /does not match|not in the cert's altnames/i,
    "the client checks the server name",
  );
});

t.test("restart reuses the CA; host changes replace only the serving cert", async (t) => {
  const again = ensurePki(dir, { hosts: ["FD00::17", "skiff.example.com", " 10.1.2.3 ", "localhost"], now });
  t.equal(fingerprint(again.ca), fingerprint(first.ca), "same CA");
  t.equal(fingerprint(again.serving), fingerprint(first.serving), "same hosts: serving cert kept");
  t.equal(fingerprint(again.admin), fingerprint(first.admin), "admin cert kept");

  const moved = ensurePki(dir, {
    hosts: ["skiff.example.com", "10.1.2.3", "fd00::17", "[2001:db8::5]"],
    now,
  });
  t.equal(fingerprint(moved.ca), fingerprint(first.ca), "same CA");
  t.not(fingerprint(moved.serving), fingerprint(first.serving), "serving cert regenerated");
  t.equal(fingerprint(moved.admin), fingerprint(first.admin), "admin cert kept");
  t.equal(new X509Certificate(moved.serving.certPem).checkIP("2001:db8::5"), "2001:db8::5");

  const fewer = ensurePki(dir, { hosts: ["skiff.example.com"], now });
  t.not(fingerprint(fewer.serving), fingerprint(moved.serving), "removing a host regenerates too");
  t.equal(new X509Certificate(fewer.serving.certPem).checkIP("10.1.2.3"), undefined);

  const later = new Date(now.getTime() + 340 * DAY);
  const renewed = ensurePki(dir, { hosts: ["skiff.example.com"], now: later });
  t.equal(fingerprint(renewed.ca), fingerprint(first.ca), "same CA");
  t.not(
    fingerprint(renewed.serving),
    fingerprint(fewer.serving),
    "serving cert renewed within 30 days of expiry",
  );
  t.not(fingerprint(renewed.admin), fingerprint(first.admin), "admin cert renewed within 30 days of expiry");
  t.ok(new X509Certificate(renewed.admin.certPem).checkIssued(new X509Certificate(first.ca.certPem)));

  const fresh = mkdtempSync(join(tmpdir(), "skiff-pki-other-"));
  t.teardown(() => rmSync(fresh, { recursive: true, force: true }));
  t.not(
    fingerprint(ensurePki(fresh, { hosts: [] }).ca),
    fingerprint(first.ca),
    "another data dir, another CA",
  );
  rmSync(join(fresh, "pki", "ca.key"));
  t.throws(() => ensurePki(fresh, { hosts: [] }), /ca\.key is missing/, "never silently replaces a CA");
});

t.test("kubeconfig", async (t) => {
  const file = join(dir, "kube", "config");
  const server = "https://127.0.0.1:6443";
  writeKubeconfig(file, { server, caPem: first.ca.certPem, user: first.admin });
  t.equal(mode(file), 0o600);
  const unb64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");
  const doc = parse(readFileSync(file, "utf8"));
  t.equal(doc.apiVersion, "v1");
  t.equal(doc.kind, "Config");
  t.equal(doc["current-context"], "skiff");
  t.equal(doc.clusters[0].name, "skiff");
  t.equal(doc.clusters[0].cluster.server, server);
  t.equal(unb64(doc.clusters[0].cluster["certificate-authority-data"]), first.ca.certPem);
  t.equal(doc.users[0].name, "skiff-admin");
  t.equal(unb64(doc.users[0].user["client-certificate-data"]), first.admin.certPem);
  t.equal(unb64(doc.users[0].user["client-key-data"]), first.admin.keyPem);
  t.same(doc.contexts, [{ name: "skiff", context: { cluster: "skiff", user: "skiff-admin" } }]);

  const tokenFile = join(dir, "kube", "token-config");
  writeKubeconfig(tokenFile, { server, caPem: first.ca.certPem, user: { token: 'a:b "c" #d' } });
  const tokenDoc = parse(readFileSync(tokenFile, "utf8"));
  t.same(tokenDoc.users[0].user, { token: 'a:b "c" #d' });
  t.equal(mode(tokenFile), 0o600);

  writeKubeconfig(file, { server: "https://[::1]:6443", caPem: first.ca.certPem, user: first.admin });
  t.equal(
    parse(readFileSync(file, "utf8")).clusters[0].cluster.server,
    "https://[::1]:6443",
    "rewritten in place",
  );

  if (!existsSync(KUBECTL)) {
    t.comment("kubectl not installed: skipping the kubectl checks");
    return;
  }
  const jsonpath = "jsonpath={.clusters[0].cluster.server}";
  const view = execFileSync(KUBECTL, ["config", "view", "--kubeconfig", file, "--raw", "-o", jsonpath], {
    encoding: "utf8",
  });
  t.equal(view, "https://[::1]:6443");

  // Go's crypto/x509 is strict: have kubectl talk mutual TLS to a server with our certificates.
  let seen = "";
  const https = createHttpsServer(
    {
      cert: first.serving.certPem,
      key: first.serving.keyPem,
      ca: [first.ca.certPem],
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      seen = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ major: "1", minor: "31", gitVersion: "v1.31.0-skiff" }));
    },
  );
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => https.close(() => resolve())));
  const port = (https.address() as AddressInfo).port;
  for (const host of ["127.0.0.1", "localhost"]) {
    writeKubeconfig(file, { server: `https://${host}:${port}`, caPem: first.ca.certPem, user: first.admin });
    const { stdout } = await promisify(execFile)(KUBECTL, ["--kubeconfig", file, "get", "--raw", "/version"]);
    t.match(JSON.parse(stdout), { gitVersion: "v1.31.0-skiff" }, `kubectl reaches https://${host}`);
    t.equal(seen, "skiff-admin", "the server sees the admin client cert");
  }
});
