export { CampaignType, campaignTransfer } from "./campaign.js";
export { type ConfChange, ConfChangeType, decodeConfChange, encodeConfChange } from "./confchange.js";
export type { Config } from "./config.js";
export {
  assert,
  CompactedError,
  NotLeaderError,
  ProposalDroppedError,
  RaftError,
  SnapOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
} from "./errors.js";
export { message } from "./message.js";
export { ProgressState } from "./progress.js";
export { type Rand, SeededRand } from "./rand.js";
export { bootstrapStorage, RawNode, type Status } from "./rawnode.js";
export { isCommitOnly, mayPrecedeWrite, splitByWrite } from "./sendpolicy.js";
export {
  emptyConfState,
  emptyHardState,
  emptySnapshot,
  entrySize,
  limitSize,
  MemoryStorage,
  type Storage,
} from "./storage.js";
export * from "./types.js";
