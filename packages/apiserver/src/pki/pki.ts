// The API server's PKI: a persistent CA, a serving certificate for its hosts, and an admin client certificate.

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { createCertificate, type DistinguishedName, ipBytes } from "./x509.js";

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
const RENEW_BEFORE = 30 * DAY;
const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"];

export const CA_NAME: DistinguishedName = { commonName: "skiff-ca" };
export const SERVING_NAME: DistinguishedName = { commonName: "skiff-apiserver" };
export const ADMIN_NAME: DistinguishedName = { commonName: "skiff-admin", organizations: ["system:masters"] };
/** The API server's identity towards kubelets (kubeadm's apiserver-kubelet-client.crt). */
export const KUBELET_CLIENT_NAME: DistinguishedName = {
  commonName: "kube-apiserver-kubelet-client",
  organizations: ["system:masters"],
};

function newKey(): { privateKey: KeyObject; publicKey: KeyObject; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicKey, keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

function validity(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - HOUR), notAfter: new Date(now.getTime() + days * DAY) };
}

/** A new self-signed CA. */
export function createCA(opts: { now?: Date; days?: number } = {}): KeyPair {
  const key = newKey();
  const certPem = createCertificate({
    subject: CA_NAME,
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    ...validity(opts.now ?? new Date(), opts.days ?? CA_DAYS),
    isCA: true,
    keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"],
  });
  return { certPem, keyPem: key.keyPem };
}

/** Issues a client certificate signed by the CA (for later components: kubelets, controllers). */
export function issueClientCert(
  ca: KeyPair,
  opts: { commonName: string; organizations?: string[]; days?: number; now?: Date },
): KeyPair {
  const subject: DistinguishedName = { commonName: opts.commonName };
  if (opts.organizations) subject.organizations = opts.organizations;
  return issueLeaf(ca, subject, "clientAuth", opts);
}

/** Issues a serving certificate for `hosts` (DNS names and IP addresses) signed by the CA. */
export function issueServingCert(ca: KeyPair, opts: { hosts: string[]; days?: number; now?: Date }): KeyPair {
  return issueLeaf(ca, SERVING_NAME, "serverAuth", opts);
}

/** A leaf certificate (not a CA) for `subject`, signed by the CA. */
function issueLeaf(
  ca: KeyPair,
  subject: DistinguishedName,
  usage: "clientAuth" | "serverAuth",
  opts: { days?: number; now?: Date; hosts?: string[] },
): KeyPair {
  const key = newKey();
  const certPem = createCertificate({
    subject,
    publicKey: key.publicKey,
    issuerCertPem: ca.certPem,
    signingKey: createPrivateKey(ca.keyPem),
    ...validity(opts.now ?? new Date(), opts.days ?? LEAF_DAYS),
    isCA: false,
    keyUsage: ["digitalSignature", "keyEncipherment"],
    extKeyUsage: [usage],
    ...(opts.hosts === undefined ? {} : { hosts: opts.hosts }),
  });
  return { certPem, keyPem: key.keyPem };
}

/** The defaults plus `hosts`: trimmed, brackets stripped from IPv6, DNS names lower-cased, deduplicated. */
export function normalizeHosts(hosts: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of [...DEFAULT_HOSTS, ...hosts]) {
    let h = raw.trim();
    if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
    if (h === "") continue;
    const ip = ipBytes(h);
    const id = ip ? `ip:${ip.toString("hex")}` : `dns:${h.toLowerCase()}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(ip ? h : h.toLowerCase());
  }
  return out;
}

/** Whether the certificate's subjectAltName is exactly `hosts` (already normalized). */
function coversExactly(cert: X509Certificate, hosts: string[]): boolean {
  const entries = (cert.subjectAltName ?? "").split(/,\s*/).filter((e) => e !== "");
  const dns = new Set(entries.filter((e) => e.startsWith("DNS:")).map((e) => e.slice(4).toLowerCase()));
  const ipCount = entries.filter((e) => e.startsWith("IP Address:")).length;
  const wantDns = hosts.filter((h) => !ipBytes(h));
  const wantIps = hosts.filter((h) => ipBytes(h));
  return (
    dns.size === wantDns.length &&
    wantDns.every((h) => dns.has(h)) &&
    ipCount === wantIps.length &&
    wantIps.every((ip) => cert.checkIP(ip) !== undefined)
  );
}

function readPair(dir: string, name: string): KeyPair | undefined {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(crt) || !existsSync(key)) return undefined;
  return { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
}

function writePair(dir: string, name: string, pair: KeyPair): void {
  // The key first: a crash in between leaves a certificate that does not match and gets replaced.
  writeFileAtomic(join(dir, `${name}.key`), pair.keyPem, 0o600);
  writeFileAtomic(join(dir, `${name}.crt`), pair.certPem, 0o644);
}

function keyMatches(pair: KeyPair, cert: X509Certificate): boolean {
  const fromKey = createPublicKey(createPrivateKey(pair.keyPem)).export({ type: "spki", format: "der" });
  return fromKey.equals(cert.publicKey.export({ type: "spki", format: "der" }));
}

/** A usable leaf: its key matches, the CA issued it, and it does not expire within 30 days. */
function leafValid(pair: KeyPair, ca: X509Certificate, now: Date): X509Certificate | undefined {
  try {
    const cert = new X509Certificate(pair.certPem);
    if (!keyMatches(pair, cert) || !cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return undefined;
    if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE) return undefined;
    return cert;
  } catch {
    return undefined;
  }
}

function loadOrCreateCA(dir: string, now: Date): KeyPair {
  const existing = readPair(dir, "ca");
  if (existing) {
    const cert = new X509Certificate(existing.certPem);
    if (!keyMatches(existing, cert)) throw new Error(`${join(dir, "ca.key")} does not match ca.crt`);
    return existing;
  }
  if (existsSync(join(dir, "ca.crt"))) {
    // Never replace a CA whose certificate others may already trust: the operator must decide.
    throw new Error(`${join(dir, "ca.crt")} exists but ca.key is missing`);
  }
  const ca = createCA({ now });
  writePair(dir, "ca", ca);
  return ca;
}

/**
 * Creates <dir>/pki/ca.crt + ca.key on first call (kept across restarts), a serving certificate
 * apiserver.crt/.key for `hosts` (plus localhost, 127.0.0.1, ::1), regenerated when the host list
 * changed or it expires within 30 days, and an admin client certificate admin.crt/.key
 * (CN skiff-admin, O system:masters), and the client certificate the API server shows kubelets,
 * apiserver-kubelet-client.crt/.key (CN kube-apiserver-kubelet-client, O system:masters, as
 * kubeadm makes it). Key files are mode 0600.
 */
export function ensurePki(
  dataDir: string,
  opts: { hosts: string[]; now?: Date },
): { ca: KeyPair; serving: KeyPair; admin: KeyPair; kubeletClient: KeyPair } {
  const now = opts.now ?? new Date();
  const dir = join(dataDir, "pki");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = loadOrCreateCA(dir, now);
  const caCert = new X509Certificate(ca.certPem);
  const hosts = normalizeHosts(opts.hosts);

  let serving = readPair(dir, "apiserver");
  const servingCert = serving && leafValid(serving, caCert, now);
  if (!serving || !servingCert || !coversExactly(servingCert, hosts)) {
    serving = issueServingCert(ca, { hosts, now });
    writePair(dir, "apiserver", serving);
  }

  let admin = readPair(dir, "admin");
  if (!admin || !leafValid(admin, caCert, now)) {
    admin = issueClientCert(ca, { ...ADMIN_NAME, now });
    writePair(dir, "admin", admin);
  }
  let kubeletClient = readPair(dir, "apiserver-kubelet-client");
  if (!kubeletClient || !leafValid(kubeletClient, caCert, now)) {
    kubeletClient = issueClientCert(ca, { ...KUBELET_CLIENT_NAME, now });
    writePair(dir, "apiserver-kubelet-client", kubeletClient);
  }
  return { ca, serving, admin, kubeletClient };
}
