/**
 * kube's ControllerExpectations (pkg/controller/controller_utils.go): how many creates and deletes
 * a controller has asked for and not yet seen in its informer. While they are pending, sync must
 * not act on the pod count (the cache lags its own writes), so it never creates twice the pods it
 * just asked for. Expectations expire after 5 minutes (a watch event may be lost for good).
 * UIDTrackingControllerExpectations also remembers which pods it is deleting, so a delete seen
 * twice (update with deletionTimestamp, then the delete) is counted once.
 */
import type { Clock } from "@skiff/client";

/** kube's ExpectationsTimeout. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface ControlleeExpectations {
  add: number;
  del: number;
  timestamp: number;
}

export class ControllerExpectations {
  private readonly store = new Map<string, ControlleeExpectations>();

  constructor(private readonly clock: Clock) {}

  get(key: string): Readonly<ControlleeExpectations> | undefined {
    return this.store.get(key);
  }

  /**
   * Whether the controller with this key may sync: its expectations are met, expired, or were
   * never set (a controller seen for the first time, or one whose expectations were deleted).
   */
  satisfiedExpectations(key: string): boolean {
    const e = this.store.get(key);
    if (e === undefined) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.timestamp > EXPECTATIONS_TIMEOUT_MS;
  }

  /** Replaces the expectations (kube's SetExpectations). */
  setExpectations(key: string, add: number, del: number): void {
    this.store.set(key, { add, del, timestamp: this.clock.now() });
  }

  expectCreations(key: string, adds: number): void {
    this.setExpectations(key, adds, 0);
  }

  expectDeletions(key: string, dels: number): void {
    this.setExpectations(key, 0, dels);
  }

  /** Lowers the expectations (kube's LowerExpectations); a missing entry stays missing. */
  lowerExpectations(key: string, add: number, del: number): void {
    const e = this.store.get(key);
    if (e === undefined) return;
    e.add -= add;
    e.del -= del;
  }

  /** Raises the expectations (kube's RaiseExpectations). */
  raiseExpectations(key: string, add: number, del: number): void {
    const e = this.store.get(key);
    if (e === undefined) return;
    e.add += add;
    e.del += del;
  }

  /** A create the controller asked for was seen in its informer (or failed: no event will come). */
  creationObserved(key: string): void {
    this.lowerExpectations(key, 1, 0);
  }

  /** A delete the controller asked for was seen (or failed). */
  deletionObserved(key: string): void {
    this.lowerExpectations(key, 0, 1);
  }

  deleteExpectations(key: string): void {
    this.store.delete(key);
  }
}

/** ControllerExpectations that also track the keys of the pods being deleted. */
export class UIDTrackingControllerExpectations extends ControllerExpectations {
  private readonly uids = new Map<string, Set<string>>();

  getUIDs(controllerKey: string): ReadonlySet<string> | undefined {
    return this.uids.get(controllerKey);
  }

  /** Expects the deletion of these pod keys (namespace/name); replaces earlier expectations. */
  expectDeletionsOf(controllerKey: string, deletedKeys: readonly string[]): void {
    const expected = new Set(deletedKeys);
    this.uids.set(controllerKey, expected);
    this.expectDeletions(controllerKey, expected.size);
  }

  /** A pod's deletion was seen: counted once per pod key, whatever the number of events. */
  deletionObservedOf(controllerKey: string, deletedKey: string): void {
    const set = this.uids.get(controllerKey);
    if (set?.delete(deletedKey) === true) this.deletionObserved(controllerKey);
  }

  override deleteExpectations(key: string): void {
    super.deleteExpectations(key);
    this.uids.delete(key);
  }
}
