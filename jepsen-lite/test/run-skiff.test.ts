/**
 * End to end: a 10-second jepsen-lite run with the kill nemesis against a 3-member `skiff store`
 * cluster run from source must print `valid` last and exit 0.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { killRunTest } from "./run-helper.js";

const storeEntry = fileURLToPath(new URL("../../packages/store/src/server/run.ts", import.meta.url));
killRunTest(
  "skiff",
  "kill nemesis against skiff store: valid",
  existsSync(storeEntry) ? undefined : `${storeEntry} is missing`,
);
