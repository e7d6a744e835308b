/**
 * The namespace's deletion conditions (kube's namespaceConditionUpdater,
 * pkg/controller/namespace/deletion/status_condition_utils.go): each pass of the deleter turns
 * its errors and what remains into the five conditions it owns, the "ok" variant (status False)
 * for each that did not fail, and writes the status only when one changed. Reasons and messages
 * are kube's, word for word (kubectl and scripts match on them).
 */
import type { ErrGroupDiscoveryFailed } from "../util/discovery.js";
import type { NamespaceCondition } from "./types.js";

export const CONDITION_TYPES = [
  "NamespaceDeletionDiscoveryFailure",
  "NamespaceDeletionGroupVersionParsingFailure",
  "NamespaceDeletionContentFailure",
  "NamespaceContentRemaining",
  "NamespaceFinalizersRemaining",
] as const;

const OK: Record<(typeof CONDITION_TYPES)[number], { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: {
    reason: "ResourcesDiscovered",
    message: "All resources successfully discovered",
  },
  NamespaceDeletionGroupVersionParsingFailure: {
    reason: "ParsedGroupVersions",
    message: "All legacy kube types successfully parsed",
  },
  NamespaceDeletionContentFailure: {
    reason: "ContentDeleted",
    message: "All content successfully deleted, may be waiting on finalization",
  },
  NamespaceContentRemaining: { reason: "ContentRemoved", message: "All content successfully removed" },
  NamespaceFinalizersRemaining: { reason: "ContentRemoved", message: "All content successfully removed" },
};

/** What is left after a pass: instances by "<resource>.<group>", and by finalizer. */
export interface ContentTotals {
  gvrToNumRemaining: Map<string, number>;
  finalizersToNumRemaining: Map<string, number>;
}

export class NamespaceConditionUpdater {
  private readonly newConditions: NamespaceCondition[] = [];
  private readonly deleteContentErrors: Error[] = [];

  constructor(private readonly now: () => string) {}

  processDiscoverResourcesErr(err: Error): void {
    const groups = (err as Partial<ErrGroupDiscoveryFailed>).groups;
    const message =
      groups === undefined
        ? err.message
        : `Discovery failed for some groups, ${groups.size} failing: ${err.message}`;
    this.add("NamespaceDeletionDiscoveryFailure", "DiscoveryFailed", message);
  }

  processGroupVersionErr(err: Error): void {
    this.add("NamespaceDeletionGroupVersionParsingFailure", "GroupVersionParsingFailed", err.message);
  }

  processDeleteContentErr(err: Error): void {
    this.deleteContentErrors.push(err);
  }

  processContentTotals(t: ContentTotals): void {
    const remaining = [...t.gvrToNumRemaining]
      .filter(([, n]) => n > 0)
      .map(([gr, n]) => `${gr} has ${n} resource instances`)
      .sort();
    if (t.gvrToNumRemaining.size > 0)
      this.add(
        "NamespaceContentRemaining",
        "SomeResourcesRemain",
        `Some resources are remaining: ${remaining.join(", ")}`,
      );
    const byFinalizer = [...t.finalizersToNumRemaining]
      .filter(([, n]) => n > 0)
      .map(([f, n]) => `${f} in ${n} resource instances`)
      .sort();
    if (t.finalizersToNumRemaining.size > 0)
      this.add(
        "NamespaceFinalizersRemaining",
        "SomeFinalizerRemain",
        `Some finalizers are remaining: ${byFinalizer.join(", ")}`,
      );
  }

  /** Applies the conditions to `conditions` (changed in place); true when any changed. */
  update(conditions: NamespaceCondition[]): boolean {
    if (
      this.deleteContentErrors.length > 0 &&
      this.find(this.newConditions, "NamespaceDeletionContentFailure") === undefined
    ) {
      const msgs = this.deleteContentErrors.map((e) => e.message).sort();
      this.add(
        "NamespaceDeletionContentFailure",
        "ContentDeletionFailed",
        `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(", ")}`,
      );
    }
    let changed = false;
    for (const type of CONDITION_TYPES) {
      const want = this.find(this.newConditions, type) ?? {
        type,
        status: "False" as const,
        lastTransitionTime: this.now(),
        ...OK[type],
      };
      const have = this.find(conditions, type);
      if (have === undefined) {
        conditions.push({ ...want });
        changed = true;
      } else if (
        have.status !== want.status ||
        have.reason !== want.reason ||
        have.message !== want.message
      ) {
        if (have.status !== want.status) have.lastTransitionTime = this.now();
        have.status = want.status;
        have.reason = want.reason;
        have.message = want.message;
        changed = true;
      }
    }
    return changed;
  }

  private add(type: string, reason: string, message: string): void {
    this.newConditions.push({ type, status: "True", lastTransitionTime: this.now(), reason, message });
  }

  private find(list: NamespaceCondition[], type: string): NamespaceCondition | undefined {
    return list.find((c) => c.type === type);
  }
}
