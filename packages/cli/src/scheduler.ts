import { componentCommand } from "./component-command.js";

export const schedulerCommand = componentCommand({
  name: "scheduler",
  summary: "Run the scheduler (kube-scheduler): place pending pods on nodes",
  synopsis: "skiff scheduler --kubeconfig FILE [flags]",
  about:
    "Watches pods and nodes through the API server named in --kubeconfig and binds each pending pod to a node, with kube-scheduler's framework and default plugins. With --leader-elect (the default) only the holder of the kube-system/kube-scheduler Lease schedules.",
  async load() {
    const { runScheduler, schedulerFlags } = await import("@skiff/scheduler");
    return { flags: schedulerFlags, run: runScheduler };
  },
});
