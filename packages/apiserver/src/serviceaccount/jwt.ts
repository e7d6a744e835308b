/**
 * RS256 JSON Web Tokens with node:crypto, as kube's ServiceAccount tokens (go-jose): a header
 * {"alg":"RS256","kid":...}, claims, a PKCS#1 v1.5 SHA-256 signature, each part base64url. The
 * key id is kube's: base64url of the SHA-256 of the public key's PKIX DER.
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

const b64url = (b: Buffer) => b.toString("base64url");

export function keyId(publicKey: KeyObject): string {
  return b64url(
    createHash("sha256")
      .update(publicKey.export({ type: "spki", format: "der" }))
      .digest(),
  );
}

export function signJwt(claims: Record<string, unknown>, privateKey: KeyObject): string {
  const header = { alg: "RS256", kid: keyId(createPublicKey(privateKey)) };
  const input = `${b64url(Buffer.from(JSON.stringify(header)))}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
  return `${input}.${b64url(sign("sha256", Buffer.from(input), privateKey))}`;
}

/** Whether a token looks like a JWT (three base64url parts, the first a JSON header). */
export function looksLikeJwt(token: string): boolean {
  const parts = token.split(".");
  if (parts.length !== 3) return false;
  try {
    const header = JSON.parse(Buffer.from(parts[0] as string, "base64url").toString("utf8"));
    return typeof header === "object" && header !== null && typeof header.alg === "string";
  } catch {
    return false;
  }
}

/** The claims of a token signed by `publicKey` with RS256, or undefined. */
export function verifyJwt(token: string, publicKey: KeyObject): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [h, c, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
    if (header?.alg !== "RS256") return undefined;
    if (!verify("sha256", Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, "base64url"))) return undefined;
    const claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null && !Array.isArray(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}
