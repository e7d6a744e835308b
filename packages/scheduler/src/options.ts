/**
 * `skiff scheduler` flags, spelled as kube-scheduler's: --kubeconfig, --config (a
 * KubeSchedulerConfiguration file), the --leader-elect family with Kubernetes' defaults, and the
 * address of the metrics and health endpoints.
 */
import { readFileSync } from "node:fs";
import { configFromKubeconfig } from "@skiff/client";
import {
  FlagError,
  FlagSet,
  hostPortFlag,
  leaderElectionConfiguration,
  leaderElectionFlags,
} from "@skiff/component-base";
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
  ...leaderElectionFlags({ resourceNamespace: "kube-system", resourceName: "kube-scheduler" }),
  "metrics-bind-address": {
    type: "string",
    default: "127.0.0.1:10259",
    usage: 'host:port of the plain-HTTP /metrics, /healthz, /livez and /readyz endpoints ("" disables them).',
  },
});

export interface SchedulerCommandOptions extends SchedulerComponentOptions {
  metricsBindAddress: { host: string; port: number } | undefined;
}

export function parseSchedulerFlags(argv: readonly string[]): SchedulerCommandOptions {
  const { values: v } = schedulerFlags.parse(argv);
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
  const le = leaderElectionConfiguration(v);
  const metricsBindAddress = hostPortFlag("metrics-bind-address", v["metrics-bind-address"]);
  return {
    client: configFromKubeconfig(v.kubeconfig),
    config,
    ...(le.leaderElect
      ? {
          leaderElection: {
            leaseDurationMs: le.leaseDurationMs,
            renewDeadlineMs: le.renewDeadlineMs,
            retryPeriodMs: le.retryPeriodMs,
            namespace: le.resourceNamespace,
            name: le.resourceName,
          },
        }
      : {}),
    metricsBindAddress,
  };
}
