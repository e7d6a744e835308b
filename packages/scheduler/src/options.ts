/**
 * `skiff scheduler` flags, spelled as kube-scheduler's: --kubeconfig, --config (a
 * KubeSchedulerConfiguration file), the --leader-elect family with Kubernetes' defaults, and the
 * address of the metrics and health endpoints.
 */
import { readFileSync } from "node:fs";
import { configFromKubeconfig } from "@skiff/client";
import { durationFlag, FlagError, FlagSet } from "@skiff/component-base";
import { parse as parseYaml } from "yaml";
import type { SchedulerComponentOptions } from "./component.js";
import { ConfigError, parseSchedulerConfig } from "./framework/profile.js";

export const schedulerFlags = new FlagSet({
  kubeconfig: {
    type: "string",
    usage: "Path to a kubeconfig file with the API server's address and credentials (required).",
  },
  config: {
    type: "string",
    usage: "The path to the KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1).",
  },
  "leader-elect": {
    type: "boolean",
    default: true,
    usage: "Start a leader election client and gain leadership before executing the main loop.",
  },
  "no-leader-elect": {
    type: "boolean",
    usage: "Run without leader election (same as --leader-elect=false).",
  },
  "leader-elect-lease-duration": {
    type: "string",
    default: "15s",
    usage:
      "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership.",
  },
  "leader-elect-renew-deadline": {
    type: "string",
    default: "10s",
    usage:
      "The interval between attempts by the acting master to renew a leadership slot before it stops leading.",
  },
  "leader-elect-retry-period": {
    type: "string",
    default: "2s",
    usage: "The duration the clients should wait between attempting acquisition and renewal of a leadership.",
  },
  "leader-elect-resource-namespace": {
    type: "string",
    default: "kube-system",
    usage: "The namespace of resource object that is used for locking during leader election.",
  },
  "leader-elect-resource-name": {
    type: "string",
    default: "kube-scheduler",
    usage: "The name of resource object that is used for locking during leader election.",
  },
  "metrics-bind-address": {
    type: "string",
    default: "127.0.0.1:10259",
    usage: 'host:port of the plain-HTTP /metrics, /healthz, /livez and /readyz endpoints ("" disables them).',
  },
});

/** "--leader-elect=false" is Go's spelling; node's parser knows only --no-leader-elect style, so both are accepted. */
function normalize(argv: readonly string[]): string[] {
  return argv.map((a) =>
    a === "--leader-elect=false" ? "--no-leader-elect" : a === "--leader-elect=true" ? "--leader-elect" : a,
  );
}

export interface SchedulerCommandOptions extends SchedulerComponentOptions {
  metricsBindAddress: { host: string; port: number } | undefined;
}

export function parseSchedulerFlags(argv: readonly string[]): SchedulerCommandOptions {
  const { values: v } = schedulerFlags.parse(normalize(argv));
  if (v.kubeconfig === undefined) throw new FlagError("--kubeconfig is required");
  let doc: unknown;
  if (v.config !== undefined) {
    try {
      doc = parseYaml(readFileSync(v.config, "utf8"));
    } catch (e) {
      throw new FlagError(
        `failed to read config file "${v.config}": ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  let config: SchedulerComponentOptions["config"];
  try {
    config = parseSchedulerConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) throw new FlagError(`invalid configuration: ${e.message}`);
    throw e;
  }
  const leaseDurationMs = durationFlag("leader-elect-lease-duration", v["leader-elect-lease-duration"]);
  const renewDeadlineMs = durationFlag("leader-elect-renew-deadline", v["leader-elect-renew-deadline"]);
  const retryPeriodMs = durationFlag("leader-elect-retry-period", v["leader-elect-retry-period"]);
  const leaderElect = v["leader-elect"] && !v["no-leader-elect"];
  if (leaderElect && renewDeadlineMs >= leaseDurationMs)
    throw new FlagError("leaseDuration must be greater than renewDeadline");
  let metricsBindAddress: SchedulerCommandOptions["metricsBindAddress"];
  const mba = v["metrics-bind-address"];
  if (mba !== "") {
    const i = mba.lastIndexOf(":");
    const port = Number(mba.slice(i + 1));
    if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
      throw new FlagError(`invalid argument "${mba}" for "--metrics-bind-address" flag: must be host:port`);
    metricsBindAddress = { host: mba.slice(0, i).replace(/^\[|\]$/g, ""), port };
  }
  return {
    client: configFromKubeconfig(v.kubeconfig),
    config,
    ...(leaderElect
      ? {
          leaderElection: {
            leaseDurationMs,
            renewDeadlineMs,
            retryPeriodMs,
            namespace: v["leader-elect-resource-namespace"],
            name: v["leader-elect-resource-name"],
          },
        }
      : {}),
    metricsBindAddress,
  };
}
