// X.509 v3 certificates (RFC 5280) built with the DER encoder and signed with ECDSA P-256 / SHA-256.

import { createHash, createPublicKey, type KeyObject, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";
import {
  bitString,
  boolean,
  children,
  explicit,
  implicit,
  integer,
  namedBits,
  octetString,
  oid,
  read,
  sequence,
  set,
  time,
  utf8String,
} from "./der.js";

export interface DistinguishedName {
  commonName: string;
  organizations?: string[];
}

export type KeyUsage = "digitalSignature" | "keyEncipherment" | "keyCertSign" | "cRLSign";
export type ExtKeyUsage = "serverAuth" | "clientAuth";

export interface CertificateOptions {
  subject: DistinguishedName;
  /** The subject's public key. */
  publicKey: KeyObject;
  /** The issuer's certificate (PEM); omit for a self-signed certificate. */
  issuerCertPem?: string;
  /** The key that signs: the issuer's private key, or the subject's own for a self-signed certificate. */
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  keyUsage: KeyUsage[];
  extKeyUsage?: ExtKeyUsage[];
  /** DNS names and IPv4/IPv6 addresses for subjectAltName. */
  hosts?: string[];
}

const OID = {
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const KEY_USAGE_BITS: Record<KeyUsage, number> = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
};

const signatureAlgorithm = (): Buffer => sequence(oid(OID.ecdsaWithSHA256));

export function encodeName(dn: DistinguishedName): Buffer {
  const rdn = (type: string, value: string): Buffer => set(sequence(oid(type), utf8String(value)));
  const orgs = (dn.organizations ?? []).map((o) => rdn(OID.organization, o));
  return sequence(...orgs, rdn(OID.commonName, dn.commonName));
}

/** SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 4.2.1.2, method 1). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: "spki", format: "der" });
  const [, bits] = children(spki, read(spki, 0));
  if (bits?.tag !== 0x03) throw new Error("SubjectPublicKeyInfo without a BIT STRING");
  return createHash("sha1")
    .update(spki.subarray(bits.start + 1, bits.end))
    .digest();
}

/** The raw DER of the subject Name of a certificate, to be used byte for byte as an issuer. */
export function subjectNameDer(certPem: string): Buffer {
  const der = pemToDer(certPem);
  const [tbs] = children(der, read(der, 0));
  if (!tbs) throw new Error("certificate without a TBSCertificate");
  const fields = children(der, tbs);
  const skip = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const subject = fields[skip + 4]; // serial, signature, issuer, validity, subject
  if (subject?.tag !== 0x30) throw new Error("certificate without a subject Name");
  return der.subarray(subject.offset, subject.end);
}

/** IPv4 (4 bytes) or IPv6 (16 bytes) address bytes, or undefined when `host` is not an IP literal. */
export function ipBytes(host: string): Buffer | undefined {
  const version = isIP(host);
  if (version === 4) return Buffer.from(host.split(".").map(Number));
  if (version !== 6) return undefined;
  let text = host.split("%")[0] as string; // drop a zone index
  const tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = (v4[2] as string).split(".").map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = v4[1] as string;
    if (!text.endsWith("::")) text = text.slice(0, -1);
  }
  const parse = (s: string): number[] => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const [head, rest] = text.split("::") as [string, string | undefined];
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const zeros =
    rest === undefined ? [] : new Array<number>(8 - left.length - right.length - tail.length).fill(0);
  const groups = [...left, ...zeros, ...right, ...tail];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(g, i * 2);
  return out;
}

function generalNames(hosts: string[]): Buffer {
  return sequence(
    ...hosts.map((h) => {
      const ip = ipBytes(h);
      return ip ? implicit(7, ip) : implicit(2, Buffer.from(h, "ascii"));
    }),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

export function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error("no PEM certificate found");
  return Buffer.from((m[1] as string).replace(/\s+/g, ""), "base64");
}

export function derToPem(der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Builds and signs a certificate; returns it as PEM. */
export function createCertificate(o: CertificateOptions): string {
  const subject = encodeName(o.subject);
  const issuerPublicKey = o.issuerCertPem ? createPublicKey(o.issuerCertPem) : o.publicKey;
  const issuer = o.issuerCertPem ? subjectNameDer(o.issuerCertPem) : subject;
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01; // positive, and 16 bytes long
  const extensions = [
    extension(OID.basicConstraints, true, o.isCA ? sequence(boolean(true)) : sequence()),
    extension(OID.keyUsage, true, namedBits(o.keyUsage.map((k) => KEY_USAGE_BITS[k]))),
  ];
  if (o.extKeyUsage?.length) {
    extensions.push(extension(OID.extKeyUsage, false, sequence(...o.extKeyUsage.map((k) => oid(OID[k])))));
  }
  if (o.hosts?.length) extensions.push(extension(OID.subjectAltName, false, generalNames(o.hosts)));
  extensions.push(extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(o.publicKey))));
  extensions.push(
    extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyIdentifier(issuerPublicKey)))),
  );
  const tbs = sequence(
    explicit(0, integer(2)), // v3
    integer(serial),
    signatureAlgorithm(),
    issuer,
    sequence(time(o.notBefore), time(o.notAfter)),
    subject,
    o.publicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(...extensions)),
  );
  const signature = sign("sha256", tbs, o.signingKey);
  return derToPem(sequence(tbs, signatureAlgorithm(), bitString(signature)));
}
