/**
 * uidTrackingExpectations of pkg/controller/job/tracking_utils.go: per Job, the uids of the pods
 * whose tracking finalizer the controller has asked to remove and not yet seen removed. Until it
 * sees the removal, a sync must not count such a pod again (its cached copy still has the
 * finalizer, but the Job status already counts it).
 */
export class FinalizerExpectations {
  private readonly byJob = new Map<string, Set<string>>();

  getExpectedUIDs(jobKey: string): ReadonlySet<string> {
    return new Set(this.byJob.get(jobKey) ?? []);
  }

  expectFinalizersRemoved(jobKey: string, uids: readonly string[]): void {
    let set = this.byJob.get(jobKey);
    if (set === undefined) {
      set = new Set();
      this.byJob.set(jobKey, set);
    }
    for (const u of uids) set.add(u);
  }

  finalizerRemovalObserved(jobKey: string, uid: string): void {
    this.byJob.get(jobKey)?.delete(uid);
  }

  deleteExpectations(jobKey: string): void {
    this.byJob.delete(jobKey);
  }
}
