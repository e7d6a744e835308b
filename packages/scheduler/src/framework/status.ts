/**
 * framework.Status (k8s.io/kubernetes/pkg/scheduler/framework/interface.go): the result of one
 * plugin at one extension point. A missing status means Success. Reasons are the messages users
 * read in FailedScheduling events, so they are spelled as kube-scheduler's plugins spell them.
 */

export enum Code {
  /** The plugin ran correctly and found the pod schedulable (or had nothing to say). */
  Success = 0,
  /** An internal error: the pod is retried with backoff; never a verdict about the node. */
  Error = 1,
  /** The pod does not fit this node now; preemption may help. */
  Unschedulable = 2,
  /** The pod does not fit this node and preemption on it would not help either. */
  UnschedulableAndUnresolvable = 3,
  /** Permit: the pod waits (for other pods, a gang ...) before binding. */
  Wait = 4,
  /** PreFilter/PreScore: the plugin's Filter/Score are not needed for this pod. */
  Skip = 5,
  /** The pod waits for something outside the scheduler (PreEnqueue gates). */
  Pending = 6,
}

const codeNames = [
  "Success",
  "Error",
  "Unschedulable",
  "UnschedulableAndUnresolvable",
  "Wait",
  "Skip",
  "Pending",
];

export class Status {
  /** The plugin that returned it (set by the framework runtime). */
  plugin = "";

  constructor(
    readonly code: Code,
    readonly reasons: readonly string[] = [],
    readonly error?: Error,
  ) {}

  static success(): Status {
    return SUCCESS;
  }

  static error(e: unknown): Status {
    const err = e instanceof Error ? e : new Error(String(e));
    return new Status(Code.Error, [err.message], err);
  }

  static unschedulable(...reasons: string[]): Status {
    return new Status(Code.Unschedulable, reasons);
  }

  static unresolvable(...reasons: string[]): Status {
    return new Status(Code.UnschedulableAndUnresolvable, reasons);
  }

  static skip(): Status {
    return new Status(Code.Skip);
  }

  withPlugin(name: string): Status {
    if (this === SUCCESS) return this;
    this.plugin = name;
    return this;
  }

  isSuccess(): boolean {
    return this.code === Code.Success;
  }

  isSkip(): boolean {
    return this.code === Code.Skip;
  }

  isWait(): boolean {
    return this.code === Code.Wait;
  }

  /** Unschedulable, UnschedulableAndUnresolvable or Pending (kube's IsRejected). */
  isRejected(): boolean {
    return (
      this.code === Code.Unschedulable ||
      this.code === Code.UnschedulableAndUnresolvable ||
      this.code === Code.Pending
    );
  }

  codeName(): string {
    return codeNames[this.code] ?? String(this.code);
  }

  /** The reasons joined by ", " (kube's Status.Message). */
  message(): string {
    return this.reasons.join(", ");
  }

  toString(): string {
    return `${this.codeName()}${this.plugin === "" ? "" : ` (${this.plugin})`}: ${this.message()}`;
  }
}

const SUCCESS = new Status(Code.Success);

/** A nullish status is Success, as in kube (a nil *Status). */
export function isSuccess(s: Status | undefined): boolean {
  return s === undefined || s.code === Code.Success;
}
