// Directories no other user may enter: made 0700, and narrowed to 0700 when an older version made them wider.

import { chmodSync, mkdirSync, statSync } from "node:fs";

/**
 * Makes `dir` (and its parents) if missing, then 0700. A directory that is not ours or is shared
 * (sticky, as /tmp) is left as it is: only what we made is narrowed.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const ours = typeof process.getuid !== "function" || st.uid === process.getuid();
  if (ours && (st.mode & 0o1000) === 0 && (st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
