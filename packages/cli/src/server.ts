import type { Command } from "./command.js";

export const serverCommand: Command = {
  name: "server",
  summary: "Run the Kubernetes API server (with an embedded store unless --etcd-servers is given)",
  async run(args, io) {
    const { runServer, serverFlagSpec } = await import("@skiff/apiserver");
    if (args.includes("-h") || args.includes("--help")) {
      io.out(
        `Usage: skiff server --data-dir DIR --bind-address 127.0.0.1 --secure-port 6443 --write-kubeconfig FILE [--etcd-servers URLS]\n\nFlags:\n${Object.keys(
          serverFlagSpec,
        )
          .map((f) => `  --${f}`)
          .join("\n")}\n`,
      );
      return 0;
    }
    try {
      return await runServer(args);
    } catch (e) {
      io.err(`skiff server: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  },
};
