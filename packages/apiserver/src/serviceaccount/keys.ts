/**
 * The ServiceAccount token signing key (kube-apiserver's --service-account-signing-key-file, as
 * kubeadm names it: pki/sa.key): an RSA 2048 key made at first start, mode 0600, reused after.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../pki/atomic.js";

export function newSigningKey(): KeyObject {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
}

/** DIR/pki/sa.key, made when missing. */
export function ensureSigningKey(dataDir: string): KeyObject {
  const file = join(dataDir, "pki", "sa.key");
  if (existsSync(file)) return createPrivateKey(readFileSync(file, "utf8"));
  const key = newSigningKey();
  writeFileAtomic(file, key.export({ type: "pkcs8", format: "pem" }).toString(), 0o600);
  return key;
}
