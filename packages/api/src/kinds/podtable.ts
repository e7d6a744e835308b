/**
 * kube's pod printer (printPod in pkg/printers/internalversion/printers.go): NAME READY STATUS
 * RESTARTS AGE, and with -o wide IP, NODE, NOMINATED NODE, READINESS GATES. STATUS is the
 * phase or reason, refined by init and app container states; RESTARTS gains "(X ago)" after a
 * restart.
 */
import type { TableDef } from "../kind.js";
import type { KubeObject } from "../meta.js";
import { column, humanDuration } from "../table.js";
import { asList, asObj, type Json } from "./json.js";

const isRestartableInit = (c: Json | undefined) => c?.restartPolicy === "Always";
const terminatedAt = (cs: Json) => asObj(asObj(cs.lastState).terminated).finishedAt as string | undefined;
const later = (a: string | undefined, b: string | undefined) =>
  b !== undefined && (a === undefined || Date.parse(b) > Date.parse(a)) ? b : a;

function hasCondition(pod: KubeObject, type: string): boolean {
  return asList(asObj(pod.status).conditions).some((c) => c.type === type && c.status === "True");
}

/** The READY, STATUS and RESTARTS cells. */
function podState(pod: KubeObject, now: Date): [string, string, string] {
  const spec = asObj(pod.spec);
  const status = asObj(pod.status);
  const phase = (status.phase as string | undefined) ?? "";
  let reason = (status.reason as string | undefined) || phase;
  for (const c of asList(status.conditions))
    if (c.type === "PodScheduled" && c.reason === "SchedulingGated") reason = "SchedulingGated";
  const inits = new Map(asList(spec.initContainers).map((c) => [c.name as string, c]));
  const total = asList(spec.containers).length + [...inits.values()].filter(isRestartableInit).length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: string | undefined;
  let lastSidecarRestart: string | undefined;
  let initializing = false;
  const initStatuses = asList(status.initContainerStatuses);
  for (const [i, cs] of initStatuses.entries()) {
    const rc = Number(cs.restartCount ?? 0);
    restarts += rc;
    lastRestart = later(lastRestart, terminatedAt(cs));
    const sidecar = isRestartableInit(inits.get(cs.name as string));
    if (sidecar) {
      sidecarRestarts += rc;
      lastSidecarRestart = later(lastSidecarRestart, terminatedAt(cs));
    }
    const state = asObj(cs.state);
    const term = state.terminated as Json | undefined;
    const wait = state.waiting as Json | undefined;
    if (term !== undefined && Number(term.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (term !== undefined)
      reason = term.reason
        ? `Init:${term.reason}`
        : term.signal
          ? `Init:Signal:${term.signal}`
          : `Init:ExitCode:${term.exitCode ?? 0}`;
    else if (wait?.reason && wait.reason !== "PodInitializing") reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${inits.size}`;
    initializing = true;
    break;
  }
  if (!initializing || hasCondition(pod, "Initialized")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = asList(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] as Json;
      restarts += Number(cs.restartCount ?? 0);
      lastRestart = later(lastRestart, terminatedAt(cs));
      const state = asObj(cs.state);
      const wait = state.waiting as Json | undefined;
      const term = state.terminated as Json | undefined;
      if (wait?.reason) reason = wait.reason as string;
      else if (term?.reason) reason = term.reason as string;
      else if (term !== undefined)
        reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (cs.ready === true && state.running !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) reason = hasCondition(pod, "Ready") ? "Running" : "NotReady";
  }
  const terminal = phase === "Succeeded" || phase === "Failed";
  if (pod.metadata.deletionTimestamp !== undefined && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata.deletionTimestamp !== undefined && !terminal) reason = "Terminating";
  const restartText =
    restarts !== 0 && lastRestart !== undefined && !Number.isNaN(Date.parse(lastRestart))
      ? `${restarts} (${humanDuration(now.getTime() - Date.parse(lastRestart))} ago)`
      : String(restarts);
  return [`${ready}/${total}`, reason, restartText];
}

export const podTable: TableDef = {
  columns: [
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    column("IP", "podIP address allocated to the pod. Routable at least within the cluster.", "string", 1),
    column("Node", "NodeName indicates in which node this pod is scheduled.", "string", 1),
    column(
      "Nominated Node",
      "nominatedNodeName is set only when this pod preempts other pods on the node.",
      "string",
      1,
    ),
    column(
      "Readiness Gates",
      "If specified, all readiness gates will be evaluated for pod readiness.",
      "string",
      1,
    ),
  ],
  cells(pod, now) {
    const spec = asObj(pod.spec);
    const status = asObj(pod.status);
    const ip = (asList(status.podIPs)[0]?.ip as string | undefined) || (status.podIP as string | undefined);
    const gates = asList(spec.readinessGates);
    const conds = asList(status.conditions);
    const trueGates = gates.filter((g) =>
      conds.some((c) => c.type === g.conditionType && c.status === "True"),
    ).length;
    return [
      ...podState(pod, now),
      ip || "<none>",
      (spec.nodeName as string | undefined) || "<none>",
      (status.nominatedNodeName as string | undefined) || "<none>",
      gates.length > 0 ? `${trueGates}/${gates.length}` : "<none>",
    ];
  },
};
