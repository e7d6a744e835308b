/**
 * List continue tokens, in kube's format (k8s.io/apiserver/pkg/storage/continue.go): unpadded
 * base64url of {"v":"meta.k8s.io/v1","rv":<revision>,"start":"<next key>"}, where the start key is
 * relative to the prefix of the list it came from. Decoding puts the list's own prefix back, after
 * a path clean: a token can only move within the list asked for, never to other resources or
 * namespaces (a key that would leave it, `..` or `//`, is a 400). Every page of a list is read at
 * the first page's revision, so the pages make one consistent snapshot.
 */
import { posix } from "node:path";
import { badRequest } from "../status.js";

/** `key` is the next key to read (kube: the last key returned plus "\u0000"). */
export function encodeContinue(revision: number, key: string, prefix: string): string {
  if (!key.startsWith(prefix) || key === prefix)
    throw new Error(`unable to encode next field: the key and key prefix do not match ${prefix} ${key}`);
  const start = key.slice(prefix.length);
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: revision, start })).toString("base64url");
}

const invalidToken = (why: string) => badRequest(`invalid continue token: continue key is not valid${why}`);

/**
 * The revision (negative: the latest, as kube reads it) and the absolute start key of a token,
 * confined to `prefix`; a 400 if not valid.
 */
export function decodeContinue(token: string, prefix: string): { rv: number; start: string } {
  // base64.RawURLEncoding: the URL alphabet, no padding.
  if (!/^[A-Za-z0-9_-]*$/.test(token) || token.length % 4 === 1)
    throw invalidToken(": illegal base64 data at input byte 0");
  let c: { v?: unknown; rv?: unknown; start?: unknown };
  try {
    c = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as typeof c;
    if (typeof c !== "object" || c === null || Array.isArray(c)) throw new Error("not an object");
  } catch (e) {
    throw invalidToken(`: ${(e as Error).message}`);
  }
  if (c.v !== "meta.k8s.io/v1")
    throw invalidToken(
      `: server does not recognize this encoded version ${typeof c.v === "string" ? c.v : ""}`,
    );
  if (typeof c.rv !== "number" || !Number.isSafeInteger(c.rv) || c.rv === 0)
    throw invalidToken(": incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
  if (typeof c.start !== "string" || c.start === "")
    throw invalidToken(": encoded start key empty (version meta.k8s.io/v1)");
  const key = c.start.startsWith("/") ? c.start : `/${c.start}`;
  if (posix.normalize(key) !== key || (key.length > 1 && key.endsWith("/")))
    throw invalidToken(`: ${c.start}`);
  return { rv: c.rv, start: prefix + key.slice(1) };
}
