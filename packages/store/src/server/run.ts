/**
 * `node run.js <etcd flags>`: runs one `skiff store` member (the same as `skiff store`); the
 * `@skiff/store/run` export, which tools and tests start as a process.
 */
import { runStore } from "./store.js";

runStore(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`skiff store: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
