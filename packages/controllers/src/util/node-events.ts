/**
 * Events about nodes, worded as kube's pkg/controller/util/node does (RecordNodeEvent and
 * RecordNodeStatusChange, common to node lifecycle and IPAM): on a reference to the Node.
 */
import type { Node, ObjectReference } from "@skiff/api";
import type { EventRecorder } from "@skiff/client";

function nodeRef(node: Node): ObjectReference {
  return {
    apiVersion: "v1",
    kind: "Node",
    name: node.metadata.name,
    uid: node.metadata.uid ?? "",
    namespace: "",
  };
}

/** RecordNodeEvent: `Node <name> event: <message>`. */
export function recordNodeEvent(
  recorder: EventRecorder,
  node: Node,
  eventtype: "Normal" | "Warning",
  reason: string,
  message: string,
): void {
  recorder.eventf(nodeRef(node), eventtype, reason, "Node %s event: %s", node.metadata.name, message);
}

/** RecordNodeStatusChange: `Node <name> status is now: <status>`, the status as the reason. */
export function recordNodeStatusChange(recorder: EventRecorder, node: Node, status: string): void {
  recorder.eventf(nodeRef(node), "Normal", status, "Node %s status is now: %s", node.metadata.name, status);
}
