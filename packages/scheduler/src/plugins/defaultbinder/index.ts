/**
 * DefaultBinder (pkg/scheduler/framework/plugins/defaultbinder): binds through the pods/binding
 * subresource, with the pod's uid so that a pod deleted and re-created under the same name is
 * never bound by mistake.
 */
import type { Pod } from "@skiff/api";
import type { CycleState } from "../../framework/cycle-state.js";
import type { BindPlugin, Handle } from "../../framework/interface.js";
import { Status } from "../../framework/status.js";

export const Name = "DefaultBinder";

export class DefaultBinder implements BindPlugin {
  readonly name = Name;

  constructor(private readonly handle: Handle) {}

  async bind(_state: CycleState, pod: Pod, nodeName: string): Promise<Status | undefined> {
    try {
      await this.handle.api.bind(pod, nodeName);
      return undefined;
    } catch (e) {
      return Status.error(e);
    }
  }
}

export function New(_args: Record<string, unknown> | undefined, handle: Handle): DefaultBinder {
  return new DefaultBinder(handle);
}
