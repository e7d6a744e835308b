export { type Component, once, Readiness, type RunOptions, runComponent, type Signals } from "./component.js";
export {
  durationFlag,
  type FlagDef,
  type FlagDefs,
  FlagError,
  FlagSet,
  type FlagStyle,
  type FlagValues,
  hostPortFlag,
  intFlag,
  invalidFlag,
  listFlag,
  parseDuration,
} from "./flags.js";
export { ComponentGroup } from "./group.js";
export { Health, type HealthAnswer, type HealthCheck, type HealthEndpoint, healthPath } from "./health.js";
export {
  formatDuration,
  type LeaderElectionConfiguration,
  type LeaderElectionDefaults,
  type LeaderElectionFlagValues,
  leaderElectionConfiguration,
  leaderElectionFlags,
  validateLeaderElectionConfiguration,
} from "./leader-election-flags.js";
export { type Logger, type LogLevel, logLevels, newLogger, silentLogger } from "./logger.js";
export { type OpsRoute, type OpsServer, type OpsServerOptions, opsHandler, serveOps } from "./ops-server.js";
