/** client-go's tools/leaderelection on a coordination.k8s.io/v1 Lease. */
export {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  type ElectionEventRecorder,
  type ElectionLogger,
  type LeaderCallbacks,
  type LeaderElectionConfig,
  NotLeaderError,
} from "./config.js";
export { LeaderElector } from "./leader-elector.js";
export { type LeaderElectionRecord, LeaseLock, microTime } from "./lease-lock.js";
