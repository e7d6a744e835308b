/**
 * Kubernetes' leader election flags (k8s.io/component-base/config/options
 * BindLeaderElectionFlags) with the defaults a component gives, and their check
 * (config/validation ValidateLeaderElectionConfiguration, with its error texts). The durations
 * are Go durations ("15s"), in milliseconds once parsed.
 */
import { durationFlag, type FlagDefs, FlagError } from "./flags.js";

export interface LeaderElectionDefaults {
  /** kube-system for kube-scheduler and kube-controller-manager. */
  resourceNamespace: string;
  /** kube-scheduler, kube-controller-manager. */
  resourceName: string;
  /** Default true, as both kube components. */
  leaderElect?: boolean;
  /** Go durations; default 15s, 10s, 2s (Kubernetes' defaults). */
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
}

/** The flag definitions, to spread into a component's FlagSet. */
export function leaderElectionFlags(d: LeaderElectionDefaults) {
  return {
    "leader-elect": {
      type: "boolean",
      default: d.leaderElect ?? true,
      usage:
        "Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability.",
    },
    "leader-elect-lease-duration": {
      type: "string",
      default: d.leaseDuration ?? "15s",
      usage:
        "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot. This is effectively the maximum duration that a leader can be stopped before it is replaced by another candidate. This is only applicable if leader election is enabled.",
    },
    "leader-elect-renew-deadline": {
      type: "string",
      default: d.renewDeadline ?? "10s",
      usage:
        "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration. This is only applicable if leader election is enabled.",
    },
    "leader-elect-retry-period": {
      type: "string",
      default: d.retryPeriod ?? "2s",
      usage:
        "The duration the clients should wait between attempting acquisition and renewal of a leadership. This is only applicable if leader election is enabled.",
    },
    "leader-elect-resource-lock": {
      type: "string",
      default: "leases",
      usage:
        "The type of resource object that is used for locking during leader election. Supported options are 'leases'.",
    },
    "leader-elect-resource-name": {
      type: "string",
      default: d.resourceName,
      usage: "The name of resource object that is used for locking during leader election.",
    },
    "leader-elect-resource-namespace": {
      type: "string",
      default: d.resourceNamespace,
      usage: "The namespace of resource object that is used for locking during leader election.",
    },
  } as const satisfies FlagDefs;
}

/** The parsed flag values leaderElectionConfiguration reads. */
export interface LeaderElectionFlagValues {
  "leader-elect": boolean;
  "leader-elect-lease-duration": string;
  "leader-elect-renew-deadline": string;
  "leader-elect-retry-period": string;
  "leader-elect-resource-lock": string;
  "leader-elect-resource-name": string;
  "leader-elect-resource-namespace": string;
}

/** component-base's LeaderElectionConfiguration, durations in milliseconds. */
export interface LeaderElectionConfiguration {
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resourceLock: string;
  resourceName: string;
  resourceNamespace: string;
}

/** Go's time.Duration.String ("15s", "1m30s", "2h0m0s", "1.5s", "100ms", "0s"). */
export function formatDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  const sign = ns < 0 ? "-" : "";
  ns = Math.abs(ns);
  if (ns === 0) return "0s";
  const fixed = (v: number, unit: number, digits: number) => {
    const frac = String(v % unit)
      .padStart(digits, "0")
      .replace(/0+$/, "");
    return `${Math.floor(v / unit)}${frac === "" ? "" : `.${frac}`}`;
  };
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${fixed(ns, 1e3, 3)}µs`;
  if (ns < 1e9) return `${sign}${fixed(ns, 1e6, 6)}ms`;
  const h = Math.floor(ns / 3.6e12);
  const m = Math.floor((ns % 3.6e12) / 6e10);
  const s = `${fixed(ns % 6e10, 1e9, 9)}s`;
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return `${sign}${s}`;
}

/**
 * The configuration from the flags, checked as kube checks it (nothing is checked when
 * --leader-elect is off). `fieldPath` names the configuration in the errors: kube-scheduler
 * says "leaderElection". Throws FlagError: one error's text, or several as "[a, b]" (an
 * apimachinery aggregate).
 */
export function leaderElectionConfiguration(
  v: LeaderElectionFlagValues,
  fieldPath = "leaderElection",
): LeaderElectionConfiguration {
  const cfg: LeaderElectionConfiguration = {
    leaderElect: v["leader-elect"],
    leaseDurationMs: durationFlag("leader-elect-lease-duration", v["leader-elect-lease-duration"]),
    renewDeadlineMs: durationFlag("leader-elect-renew-deadline", v["leader-elect-renew-deadline"]),
    retryPeriodMs: durationFlag("leader-elect-retry-period", v["leader-elect-retry-period"]),
    resourceLock: v["leader-elect-resource-lock"],
    resourceName: v["leader-elect-resource-name"],
    resourceNamespace: v["leader-elect-resource-namespace"],
  };
  // An aggregate prints each distinct message once.
  const errs = [...new Set(validateLeaderElectionConfiguration(cfg, fieldPath))];
  if (errs.length === 1) throw new FlagError(errs[0] as string);
  if (errs.length > 1) throw new FlagError(`[${errs.join(", ")}]`);
  // resourcelock.New knows only Leases now (the Endpoints and ConfigMaps locks are gone).
  if (cfg.leaderElect && cfg.resourceLock !== "leases")
    throw new FlagError(`Invalid lock-type ${cfg.resourceLock}`);
  return cfg;
}

/** ValidateLeaderElectionConfiguration's field errors, as their Error() texts. */
export function validateLeaderElectionConfiguration(
  cfg: LeaderElectionConfiguration,
  fieldPath: string,
): string[] {
  if (!cfg.leaderElect) return [];
  const errs: string[] = [];
  // field.Invalid with a metav1.Duration prints it with its String(): "Invalid value: 10s: ...".
  const invalid = (field: string, ms: number, detail: string) =>
    errs.push(`${fieldPath}.${field}: Invalid value: ${formatDuration(ms)}: ${detail}`);
  const required = (field: string) => errs.push(`${fieldPath}.${field}: Required value`);
  if (cfg.leaseDurationMs <= 0) invalid("leaseDuration", cfg.leaseDurationMs, "must be greater than zero");
  if (cfg.renewDeadlineMs <= 0) invalid("renewDeadline", cfg.renewDeadlineMs, "must be greater than zero");
  if (cfg.retryPeriodMs <= 0) invalid("retryPeriod", cfg.retryPeriodMs, "must be greater than zero");
  // kube reports the renew deadline's value under leaseDuration here.
  if (cfg.leaseDurationMs <= cfg.renewDeadlineMs)
    invalid("leaseDuration", cfg.renewDeadlineMs, "must be greater than `RenewDeadline`");
  if (cfg.resourceLock === "") required("resourceLock");
  if (cfg.resourceNamespace === "") required("resourceNamespace");
  if (cfg.resourceName === "") required("resourceName");
  return errs;
}
