/** `node run.js <etcd flags>`: runs one `skiff store` member (the same as `skiff store`). */
import { runStore } from "./main.js";

runStore(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`skiff store: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
