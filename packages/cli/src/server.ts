import { componentCommand } from "./component-command.js";

export const serverCommand = componentCommand({
  name: "server",
  summary:
    "Run the control plane: the Kubernetes API server (embedded store unless --etcd-servers) and the scheduler",
  synopsis: "skiff server [flags]",
  about:
    "Serves the Kubernetes API over HTTPS and runs the scheduler in the same process (--disable-scheduler leaves it out). Without --etcd-servers it runs an embedded single-member store in this process (data under --data-dir).",
  async load() {
    const [{ KubeApiServer, parseServerFlags, serverFlags }, { runComponent, FlagSet }, { ControlPlane }] =
      await Promise.all([
        import("@skiff/apiserver"),
        import("@skiff/component-base"),
        import("./control-plane.js"),
      ]);
    const flags = new FlagSet({
      ...serverFlags.defs,
      "disable-scheduler": {
        type: "boolean",
        usage: "Do not run the scheduler in this process (run `skiff scheduler` elsewhere).",
      },
    });
    return {
      flags,
      async run(argv: readonly string[]) {
        const disable = argv.includes("--disable-scheduler");
        const rest = argv.filter((a) => a !== "--disable-scheduler");
        const plane = new ControlPlane(new KubeApiServer(parseServerFlags(rest)), { scheduler: !disable });
        return runComponent(plane);
      },
    };
  },
});
