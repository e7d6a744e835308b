// A kubeconfig file for the admin (or a token user), written without a YAML library.

import { writeFileAtomic } from "./atomic.js";
import type { KeyPair } from "./pki.js";

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
/** A JSON string literal is a valid YAML double-quoted scalar. */
const q = (s: string): string => JSON.stringify(s);

export function kubeconfigYaml(opts: {
  server: string;
  caPem: string;
  user: KeyPair | { token: string };
}): string {
  const user =
    "token" in opts.user
      ? [`      token: ${q(opts.user.token)}`]
      : [
          `      client-certificate-data: ${b64(opts.user.certPem)}`,
          `      client-key-data: ${b64(opts.user.keyPem)}`,
        ];
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: skiff",
    "    cluster:",
    `      server: ${q(opts.server)}`,
    `      certificate-authority-data: ${b64(opts.caPem)}`,
    "users:",
    "  - name: skiff-admin",
    "    user:",
    ...user,
    "contexts:",
    "  - name: skiff",
    "    context:",
    "      cluster: skiff",
    "      user: skiff-admin",
    "current-context: skiff",
    "preferences: {}",
    "",
  ].join("\n");
}

/** Writes the kubeconfig atomically (temporary file + rename) with mode 0600. */
export function writeKubeconfig(
  file: string,
  opts: { server: string; caPem: string; user: KeyPair | { token: string } },
): void {
  writeFileAtomic(file, kubeconfigYaml(opts), 0o600);
}
