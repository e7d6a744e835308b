/**
 * List continue tokens, in kube's format (k8s.io/apiserver/pkg/storage/continue.go): base64url of
 * {"v":"meta.k8s.io/v1","rv":<revision>,"start":"<next key>\u0000"}. Every page of a list is read
 * at the first page's revision, so the pages make one consistent snapshot.
 */
import { badRequest } from "../status.js";

export function encodeContinue(revision: number, nextKey: string): string {
  return Buffer.from(
    JSON.stringify({ v: "meta.k8s.io/v1", rv: revision, start: `${nextKey}\u0000` }),
  ).toString("base64url");
}

export function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const c = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { rv: number; start: string };
    if (typeof c.rv !== "number" || typeof c.start !== "string") throw new Error("bad token");
    return c;
  } catch {
    throw badRequest(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  }
}
