import { componentCommand } from "./component-command.js";

const CM_ARG = "--kube-controller-manager-arg";

/**
 * Takes the flags that belong to `skiff server` itself out of argv: the two --disable-* switches
 * and every `--kube-controller-manager-arg flag=value` (repeatable, as k3s), returned as
 * `--flag=value` for the controller manager.
 */
export function splitServerArgs(argv: readonly string[]): {
  rest: string[];
  scheduler: boolean;
  controllerManager: boolean;
  controllerManagerArgs: string[];
} {
  const rest: string[] = [];
  const cm: string[] = [];
  let scheduler = true;
  let controllerManager = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--disable-scheduler") scheduler = false;
    else if (a === "--disable-controller-manager") controllerManager = false;
    else if (a === CM_ARG || a.startsWith(`${CM_ARG}=`)) {
      const v = a === CM_ARG ? argv[++i] : a.slice(CM_ARG.length + 1);
      if (v === undefined) throw new Error(`flag needs an argument: ${CM_ARG}`);
      cm.push(`--${v.replace(/^--/, "")}`);
    } else rest.push(a);
  }
  return { rest, scheduler, controllerManager, controllerManagerArgs: cm };
}

export const serverCommand = componentCommand({
  name: "server",
  summary:
    "Run the control plane: the Kubernetes API server (embedded store unless --etcd-servers), the scheduler and the controller manager",
  synopsis: "skiff server [flags]",
  about:
    "Serves the Kubernetes API over HTTPS and runs the scheduler and the controller manager in the same process (--disable-scheduler, --disable-controller-manager leave them out). Without --etcd-servers it runs an embedded single-member store in this process (data under --data-dir).",
  async load() {
    const [
      { KubeApiServer, parseServerFlags, serverFlags },
      { runComponent, FlagSet },
      { ControlPlane },
      cm,
    ] = await Promise.all([
      import("@skiff/apiserver"),
      import("@skiff/component-base"),
      import("./control-plane.js"),
      import("@skiff/controllers"),
    ]);
    const flags = new FlagSet({
      ...serverFlags.defs,
      "disable-scheduler": {
        type: "boolean",
        usage: "Do not run the scheduler in this process (run `skiff scheduler` elsewhere).",
      },
      "disable-controller-manager": {
        type: "boolean",
        usage:
          "Do not run the controller manager in this process (run `skiff controller-manager` elsewhere).",
      },
      "kube-controller-manager-arg": {
        type: "string",
        usage:
          "A flag for the controller manager, as flag=value (repeatable), e.g. node-monitor-grace-period=20s.",
      },
    });
    return {
      flags,
      async run(argv: readonly string[]) {
        const s = splitServerArgs(argv);
        // Refuse a bad controller-manager flag before anything starts.
        cm.parseControllerManagerArgs(s.controllerManagerArgs);
        const plane = new ControlPlane(new KubeApiServer(parseServerFlags(s.rest)), {
          scheduler: s.scheduler,
          controllerManager: s.controllerManager,
          controllerManagerArgs: s.controllerManagerArgs,
        });
        return runComponent(plane);
      },
    };
  },
});
