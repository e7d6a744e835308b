/**
 * core/v1 NodeStatus as kubelets write it (conditions with lastHeartbeatTime, nodeInfo,
 * addresses, daemonEndpoints, images, volumesInUse/Attached, config, runtimeHandlers, features),
 * and kube's Node printer: NAME STATUS ROLES AGE VERSION, and with -o wide INTERNAL-IP,
 * EXTERNAL-IP, OS-IMAGE, KERNEL-VERSION, CONTAINER-RUNTIME.
 */
import type { TableDef } from "../kind.js";
import {
  bool,
  enumOf,
  int32,
  int64,
  list,
  mapOf,
  mergeList,
  obj,
  quantity,
  str,
  strings,
  time,
} from "../schema.js";
import { age, ageColumn, column } from "../table.js";
import { asList, asObj } from "./json.js";

const nodeCondition = obj({
  type: str("Type of node condition."),
  status: enumOf(["True", "False", "Unknown"], "Status of the condition, one of True, False, Unknown."),
  lastHeartbeatTime: time("Last time we got an update on a given condition."),
  lastTransitionTime: time("Last time the condition transit from one status to another."),
  reason: str("(brief) reason for the condition's last transition."),
  message: str("Human readable message indicating details about last transition."),
});

const configSource = obj({
  configMap: obj({
    namespace: str(),
    name: str(),
    uid: str(),
    resourceVersion: str(),
    kubeletConfigKey: str(),
  }),
});

export const nodeStatusSchema = obj(
  {
    capacity: mapOf(quantity(), "Capacity represents the total resources of a node."),
    allocatable: mapOf(
      quantity(),
      "Allocatable represents the resources of a node available for scheduling.",
    ),
    phase: str("NodePhase is the recently observed lifecycle phase of the node (deprecated)."),
    conditions: mergeList(
      nodeCondition,
      "type",
      "Conditions is an array of current observed node conditions.",
    ),
    addresses: mergeList(
      obj({ type: str(), address: str() }),
      "type",
      "List of addresses reachable to the node.",
    ),
    daemonEndpoints: obj(
      { kubeletEndpoint: obj({ Port: int32() }) },
      "Endpoints of daemons running on the Node.",
    ),
    nodeInfo: obj(
      {
        machineID: str(),
        systemUUID: str(),
        bootID: str(),
        kernelVersion: str(),
        osImage: str(),
        containerRuntimeVersion: str(),
        kubeletVersion: str(),
        kubeProxyVersion: str(),
        operatingSystem: str(),
        architecture: str(),
      },
      "Set of ids/uuids to uniquely identify the node.",
    ),
    images: list(obj({ names: strings(), sizeBytes: int64() }), "List of container images on this node"),
    volumesInUse: strings("List of attachable volumes in use (mounted) by the node."),
    volumesAttached: list(
      obj({ name: str(), devicePath: str() }),
      "List of volumes that are attached to the node.",
    ),
    config: obj(
      { assigned: configSource, active: configSource, lastKnownGood: configSource, error: str() },
      "Status of the config assigned to the node via the dynamic Kubelet config feature.",
    ),
    runtimeHandlers: list(
      obj({ name: str(), features: obj({ recursiveReadOnlyMounts: bool(), userNamespaces: bool() }) }),
      "The available runtime handlers.",
    ),
    features: obj(
      { supplementalGroupsPolicy: bool() },
      "Features supported by the node's CRI implementation.",
    ),
  },
  "NodeStatus is information about the current status of a node.",
);

export const nodeSpecSchema = obj({
  podCIDR: str(),
  podCIDRs: strings(),
  providerID: str(),
  unschedulable: bool("Unschedulable controls node schedulability of new pods."),
  taints: list(obj({ key: str(), value: str(), effect: str(), timeAdded: time() })),
  configSource: configSource,
  externalID: str("Deprecated."),
});

const address = (status: Record<string, unknown>, type: string) =>
  (asList(status.addresses).find((a) => a.type === type)?.address as string | undefined) ?? "<none>";

export const nodeTable: TableDef = {
  noAge: true,
  columns: [
    column("Status", "The status of the node"),
    column("Roles", "The roles of the node"),
    ageColumn,
    column("Version", "Kubelet Version reported by the node."),
    column("Internal-IP", "List of addresses reachable to the node.", "string", 1),
    column("External-IP", "List of addresses reachable to the node.", "string", 1),
    column(
      "OS-Image",
      "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
      "string",
      1,
    ),
    column(
      "Kernel-Version",
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      "string",
      1,
    ),
    column(
      "Container-Runtime",
      "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
      "string",
      1,
    ),
  ],
  cells(node, now) {
    const status = asObj(node.status);
    const info = asObj(status.nodeInfo);
    const conds = asList(status.conditions);
    // kube: every True condition named, Ready first; NotReady / Unknown when Ready is not True.
    const ready = conds.find((c) => c.type === "Ready");
    const states: string[] = [];
    if (ready === undefined) states.push("Unknown");
    else states.push(ready.status === "True" ? "Ready" : "NotReady");
    if (asObj(node.spec).unschedulable === true) states.push("SchedulingDisabled");
    const roles = new Set<string>();
    for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
      if (k.startsWith("node-role.kubernetes.io/")) roles.add(k.slice("node-role.kubernetes.io/".length));
      else if (k === "kubernetes.io/role" && v !== "") roles.add(v);
    }
    const roleText = [...roles]
      .filter((r) => r !== "")
      .sort()
      .join(",");
    const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : "<unknown>");
    return [
      states.join(","),
      roleText === "" ? "<none>" : roleText,
      age(node.metadata.creationTimestamp, now),
      (info.kubeletVersion as string | undefined) ?? "",
      address(status, "InternalIP"),
      address(status, "ExternalIP"),
      text(info.osImage),
      text(info.kernelVersion),
      text(info.containerRuntimeVersion),
    ];
  },
};
