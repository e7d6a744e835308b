import { createServer } from "node:net";

/**
 * A free loopback port for a server that tests, benchmarks or jepsen-lite start: random in
 * 10000-29999, below Linux's ephemeral range (32768-60999), and never twice from this process.
 * bind(0) would hand out ephemeral ports, where another process running at the same time can
 * take the port between this check and the server's bind (seen as EADDRINUSE in CI).
 */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10000 + Math.floor(Math.random() * 20000);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port found in 10000-29999");
}
