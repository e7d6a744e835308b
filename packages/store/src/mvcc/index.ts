export { compareBytes, prefixEnd } from "./bytes.js";
export { DEFAULT_MAX_TXN_OPS } from "./check.js";
export { MVCC_ERRORS, MvccError, type MvccErrorCode } from "./errors.js";
export type { EventCache, EventsPage } from "./history.js";
export { MvccStore, type MvccStoreOptions } from "./store.js";
export type * from "./types.js";
