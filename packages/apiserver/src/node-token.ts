/**
 * The node token (k3s's server/node-token): a random secret made at first start in
 * DIR/node-token (mode 0600) with which `skiff agent --server URL --token T` joins the cluster.
 * It authenticates as the group system:nodes (user `system:node`), as k3s's agent token does
 * before the agent has its own node credentials.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { UserInfo } from "./auth.js";
import { writeFileAtomic } from "./pki/atomic.js";

export const NODE_TOKEN_USER: UserInfo = {
  name: "system:node",
  groups: ["system:nodes", "system:authenticated"],
};

/** DIR/node-token, made when missing; returns the token. */
export function ensureNodeToken(dataDir: string): string {
  const file = join(dataDir, "node-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const token = `K10${randomBytes(24).toString("hex")}`;
  writeFileAtomic(file, `${token}\n`, 0o600);
  return token;
}
