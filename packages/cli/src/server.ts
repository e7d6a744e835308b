import { componentCommand } from "./component-command.js";

export const serverCommand = componentCommand({
  name: "server",
  summary: "Run the Kubernetes API server (with an embedded store unless --etcd-servers is given)",
  synopsis: "skiff server [flags]",
  about:
    "Serves the Kubernetes API over HTTPS. Without --etcd-servers it runs an embedded single-member store in this process (data under --data-dir).",
  async load() {
    const { runServer, serverFlags } = await import("@skiff/apiserver");
    return { flags: serverFlags, run: runServer };
  },
});
