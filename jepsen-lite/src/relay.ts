/**
 * `node relay.js SOCKET HOST:PORT`: runs inside a member's network namespace (netns.ts). Accepts
 * connections on the Unix socket SOCKET and pipes each one to HOST:PORT. Prints one line once it
 * listens, and exits when its parent (the runner) is gone, so a killed run leaves no relay behind.
 */
import { rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";

const [path, to] = process.argv.slice(2);
if (path === undefined || to === undefined) {
  process.stderr.write("usage: relay SOCKET HOST:PORT\n");
  process.exit(2);
}
const colon = to.lastIndexOf(":");
const host = to.slice(0, colon);
const port = Number(to.slice(colon + 1));
rmSync(path, { force: true });
const server = createServer((client) => {
  const upstream = createConnection({ host, port });
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", drop).on("close", drop);
  upstream.on("error", drop).on("close", drop);
  client.pipe(upstream).pipe(client);
});
server.listen(path, () => process.stdout.write("listening\n"));
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
process.on("SIGTERM", () => process.exit(0));
