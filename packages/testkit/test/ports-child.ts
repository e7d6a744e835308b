/**
 * Reserves `argv[2]` ports with freePort and prints them as JSON; then exits normally when its
 * stdin ends, or with `hold` waits to be killed.
 */
import { freePort } from "../src/index.js";

const ports: number[] = [];
for (let i = 0; i < Number(process.argv[2]); i++) ports.push(await freePort());
process.stdout.write(`${JSON.stringify(ports)}\n`);
if (process.argv[3] === "hold") setInterval(() => undefined, 1000);
else process.stdin.resume().on("end", () => process.exit(0));
