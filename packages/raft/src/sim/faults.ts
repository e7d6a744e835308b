/**
 * The fault model as data: a schedule is a list of timed fault events. The random generator draws
 * one from the seed; fast-check generates (and shrinks) them directly. A node is named by a pick
 * resolved when the fault fires (the cluster changes under faults): -1 is "the current leader",
 * k >= 0 is the k-th (mod n) member in id order.
 */
import type { SeededRand } from "../index.js";

export type NodePick = number;

export const partitionShapes = [
  "isolateLeader",
  "majorityMinority",
  "oneWayFromLeader",
  "oneWayToLeader",
  "oneWayPair",
  "bridge",
] as const;
export type PartitionShape = (typeof partitionShapes)[number];

export type FaultEvent =
  /** Crash: everything not yet written is lost; restart after downMs from what is on disk. */
  | { readonly kind: "crash"; readonly at: number; readonly node: NodePick; readonly downMs: number }
  | {
      readonly kind: "partition";
      readonly at: number;
      readonly shape: PartitionShape;
      readonly pick: number;
      readonly durationMs: number;
    }
  /** The process stops (GC pause, SIGSTOP): no ticks, no handling; its inbox waits. */
  | { readonly kind: "pause"; readonly at: number; readonly node: NodePick; readonly durationMs: number }
  | {
      readonly kind: "slowDisk";
      readonly at: number;
      readonly node: NodePick;
      readonly durationMs: number;
      readonly latencyMs: number;
    }
  /** A slow process: its clock ticks `factor` times slower and it handles messages late. */
  | {
      readonly kind: "slowNode";
      readonly at: number;
      readonly node: NodePick;
      readonly durationMs: number;
      readonly factor: number;
    }
  | {
      readonly kind: "lossy";
      readonly at: number;
      readonly durationMs: number;
      readonly dropRate: number;
      readonly dupRate: number;
    }
  | { readonly kind: "transferLeader"; readonly at: number; readonly to: NodePick }
  | { readonly kind: "removeVoter"; readonly at: number; readonly node: NodePick }
  | { readonly kind: "addLearner"; readonly at: number }
  | { readonly kind: "promoteLearner"; readonly at: number }
  | { readonly kind: "burst"; readonly at: number; readonly node: NodePick; readonly count: number };

export type FaultKind = FaultEvent["kind"];

export function fmtPick(p: NodePick): string {
  return p < 0 ? "leader" : `member#${p}`;
}

/** One line per fault, for traces and shrunk counterexamples. */
export function fmtFault(e: FaultEvent): string {
  switch (e.kind) {
    case "crash":
      return `@${e.at} crash ${fmtPick(e.node)} for ${e.downMs}ms`;
    case "partition":
      return `@${e.at} partition ${e.shape}(pick=${e.pick}) for ${e.durationMs}ms`;
    case "pause":
      return `@${e.at} pause ${fmtPick(e.node)} for ${e.durationMs}ms`;
    case "slowDisk":
      return `@${e.at} slowDisk ${fmtPick(e.node)} ${e.latencyMs}ms/write for ${e.durationMs}ms`;
    case "slowNode":
      return `@${e.at} slowNode ${fmtPick(e.node)} x${e.factor} for ${e.durationMs}ms`;
    case "lossy":
      return `@${e.at} lossy drop=${e.dropRate} dup=${e.dupRate} for ${e.durationMs}ms`;
    case "transferLeader":
      return `@${e.at} transferLeader to ${fmtPick(e.to)}`;
    case "removeVoter":
      return `@${e.at} removeVoter ${fmtPick(e.node)}`;
    case "addLearner":
      return `@${e.at} addLearner`;
    case "promoteLearner":
      return `@${e.at} promoteLearner`;
    case "burst":
      return `@${e.at} burst of ${e.count} proposals and ${Math.ceil(e.count / 2)} reads at ${fmtPick(e.node)}`;
  }
}

/** Weighted choice of the next random fault; membership is scheduled separately (it has an order). */
const weights: readonly [FaultKind, number][] = [
  ["crash", 5],
  ["partition", 6],
  ["pause", 2],
  ["slowDisk", 3],
  ["slowNode", 2],
  ["lossy", 2],
  ["transferLeader", 2],
  ["burst", 2],
];
const totalWeight = weights.reduce((s, [, w]) => s + w, 0);

function pickKind(rand: SeededRand): FaultKind {
  let x = rand.intn(totalWeight);
  for (const [kind, w] of weights) {
    if (x < w) return kind;
    x -= w;
  }
  return "crash";
}

/** A node pick: the leader a third of the time (the interesting target), else any member. */
function pickNode(rand: SeededRand): NodePick {
  return rand.intn(3) === 0 ? -1 : rand.intn(16);
}

function randomFault(rand: SeededRand, kind: FaultKind, at: number): FaultEvent {
  const dur = (lo: number, hi: number) => lo + rand.intn(hi - lo + 1);
  switch (kind) {
    case "crash":
      return { kind, at, node: pickNode(rand), downMs: dur(20, 800) };
    case "partition": {
      const shape = partitionShapes[rand.intn(partitionShapes.length)] as PartitionShape;
      return { kind, at, shape, pick: rand.intn(16), durationMs: dur(100, 1500) };
    }
    case "pause":
      return { kind, at, node: pickNode(rand), durationMs: dur(20, 400) };
    case "slowDisk":
      return { kind, at, node: pickNode(rand), durationMs: dur(100, 1000), latencyMs: dur(10, 120) };
    case "slowNode":
      return { kind, at, node: pickNode(rand), durationMs: dur(100, 1000), factor: dur(2, 5) };
    case "lossy":
      return { kind, at, durationMs: dur(100, 1000), dropRate: dur(5, 40) / 100, dupRate: dur(0, 20) / 100 };
    case "transferLeader":
      return { kind, at, to: rand.intn(16) };
    case "burst":
      return { kind, at, node: pickNode(rand), count: dur(5, 40) };
    case "removeVoter":
      return { kind, at, node: pickNode(rand) };
    default:
      return { kind: kind as "addLearner" | "promoteLearner", at };
  }
}

/**
 * A random schedule over [0, durationMs): faults arrive every `everyMs` on average, and in about
 * half the runs a membership change sequence (remove a voter, add a learner, promote it) runs in
 * the middle of them.
 */
export function randomSchedule(
  rand: SeededRand,
  durationMs: number,
  everyMs: number,
  membership = true,
): FaultEvent[] {
  const out: FaultEvent[] = [];
  for (let at = 100 + rand.intn(everyMs); at < durationMs; at += 1 + rand.intn(2 * everyMs)) {
    out.push(randomFault(rand, pickKind(rand), at));
  }
  if (rand.intn(2) === 0 && membership) {
    const slot = Math.floor(durationMs / 4);
    const add = slot + rand.intn(slot);
    out.push({ kind: "removeVoter", at: rand.intn(slot), node: pickNode(rand) });
    out.push({ kind: "addLearner", at: add });
    // Half the time the promotion comes while the learner is still catching up (snapshots and
    // log replay racing the membership change), else once it has.
    const promoteAfter = rand.intn(2) === 0 ? 20 + rand.intn(400) : slot / 2 + rand.intn(slot);
    out.push({ kind: "promoteLearner", at: add + promoteAfter });
  }
  // Stable by time: the array sort is stable, so equal times keep generation order.
  return out.sort((a, b) => a.at - b.at);
}
