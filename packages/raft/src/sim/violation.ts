/** A broken invariant. Thrown out of the event that broke it, so the run stops right there. */
export class InvariantViolation extends Error {
  constructor(
    /** A stable name: "election-safety", "log-matching", ... (see docs/raft-sim.md). */
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = "InvariantViolation";
  }
}

export function violated(invariant: string, detail: string): never {
  throw new InvariantViolation(invariant, detail);
}
