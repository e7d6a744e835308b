import { componentCommand } from "./component-command.js";

const CM_ARG = "--kube-controller-manager-arg";
const KUBELET_ARG = "--kubelet-arg";
const NODE_NAME = "--node-name";

/**
 * Takes the flags that belong to `skiff server` itself out of argv: the --disable-* switches,
 * --node-name, and every `--kube-controller-manager-arg flag=value` / `--kubelet-arg
 * flag=value` (repeatable, as k3s), returned as `--flag=value` for the component.
 */
export function splitServerArgs(argv: readonly string[]): {
  rest: string[];
  scheduler: boolean;
  controllerManager: boolean;
  agent: boolean;
  nodeName: string | undefined;
  controllerManagerArgs: string[];
  kubeletArgs: string[];
} {
  const rest: string[] = [];
  const cm: string[] = [];
  const kubelet: string[] = [];
  let scheduler = true;
  let controllerManager = true;
  let agent = true;
  let nodeName: string | undefined;
  const value = (i: number, flag: string) => {
    const a = argv[i] as string;
    const v = a === flag ? argv[i + 1] : a.slice(flag.length + 1);
    if (v === undefined) throw new Error(`flag needs an argument: ${flag}`);
    return { v, next: a === flag ? i + 1 : i };
  };
  const is = (a: string, flag: string) => a === flag || a.startsWith(`${flag}=`);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--disable-scheduler") scheduler = false;
    else if (a === "--disable-controller-manager") controllerManager = false;
    else if (a === "--disable-agent") agent = false;
    else if (is(a, CM_ARG) || is(a, KUBELET_ARG) || is(a, NODE_NAME)) {
      const flag = is(a, CM_ARG) ? CM_ARG : is(a, KUBELET_ARG) ? KUBELET_ARG : NODE_NAME;
      const { v, next } = value(i, flag);
      i = next;
      if (flag === NODE_NAME) nodeName = v;
      else (flag === CM_ARG ? cm : kubelet).push(`--${v.replace(/^--/, "")}`);
    } else rest.push(a);
  }
  return {
    rest,
    scheduler,
    controllerManager,
    agent,
    nodeName,
    controllerManagerArgs: cm,
    kubeletArgs: kubelet,
  };
}

export const serverCommand = componentCommand({
  name: "server",
  summary:
    "Run a one-node cluster: the Kubernetes API server (embedded store unless --etcd-servers), the scheduler, the controller manager and a node agent",
  synopsis: "skiff server [flags]",
  about:
    "Serves the Kubernetes API over HTTPS and runs the scheduler, the controller manager and a node agent for this machine in the same process (--disable-scheduler, --disable-controller-manager, --disable-agent leave them out). Without --etcd-servers it runs an embedded single-member store in this process (data under --data-dir). Other machines join with `skiff agent --server URL --token $(cat DATA_DIR/node-token) --certificate-authority DATA_DIR/pki/ca.crt`.",
  async load() {
    const [
      { KubeApiServer, parseServerFlags, serverFlags },
      { runComponent, FlagSet },
      { ControlPlane },
      cm,
      na,
    ] = await Promise.all([
      import("@skiff/apiserver"),
      import("@skiff/component-base"),
      import("./control-plane.js"),
      import("@skiff/controllers"),
      import("./node-agent.js"),
    ]);
    const flags = new FlagSet({
      ...serverFlags.defs,
      ...na.nodeAgentFlagDefs,
      "disable-scheduler": {
        type: "boolean",
        usage: "Do not run the scheduler in this process (run `skiff scheduler` elsewhere).",
      },
      "disable-controller-manager": {
        type: "boolean",
        usage:
          "Do not run the controller manager in this process (run `skiff controller-manager` elsewhere).",
      },
      "disable-agent": {
        type: "boolean",
        usage:
          "Do not run a node agent in this process (no pods run on this machine unless `skiff agent` does).",
      },
      "node-name": {
        type: "string",
        usage: "The name of this machine's node (default: the host name).",
      },
      "kubelet-arg": {
        type: "string",
        usage: "A flag for the node agent, as flag=value (repeatable), e.g. max-pods=50.",
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
        const node = na.splitNodeAgentArgs(argv);
        const s = splitServerArgs(node.rest);
        // Refuse a bad controller-manager or kube-proxy flag before anything starts.
        cm.parseControllerManagerArgs(s.controllerManagerArgs);
        await na.checkKubeProxyArgs(node.kubeProxyArgs);
        const kubelet = await import("@skiff/kubelet");
        const agentArgs = [
          ...(s.nodeName === undefined ? [] : ["--node-name", s.nodeName]),
          ...s.kubeletArgs,
        ];
        if (s.agent) kubelet.parseAgentFlags(agentArgs, { embedded: true });
        const plane = new ControlPlane(new KubeApiServer(parseServerFlags(s.rest)), {
          scheduler: s.scheduler,
          controllerManager: s.controllerManager,
          controllerManagerArgs: s.controllerManagerArgs,
          agent: s.agent,
          agentArgs,
          kubeProxyArgs: node.kubeProxyArgs,
          kubeProxy: node.kubeProxy,
          clusterDns: node.clusterDns,
        });
        return runComponent(plane);
      },
    };
  },
});
