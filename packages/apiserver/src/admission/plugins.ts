/**
 * The admission plugins, registered by name in the order they run: kube's AllOrderedPlugins
 * (pkg/kubeapiserver/options/plugins.go) restricted to the ones Skiff has. ResourceQuota stays
 * last, as in kube: it must see the object after every other plugin changed it. Adding a plugin
 * is writing its file and adding its line here, at its place in kube's order.
 */
import type { Registry } from "@skiff/api";
import type { QuotaUsage } from "../registry/quota-usage.js";
import { StatusError } from "../status.js";
import type { RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";
import { AdmissionChain } from "./chain.js";
import { DefaultTolerationSeconds } from "./default-toleration-seconds.js";
import type { AdmissionPlugin } from "./interface.js";
import { LimitRanger } from "./limit-ranger.js";
import { NamespaceLifecycle } from "./namespace-lifecycle.js";
import { Priority } from "./priority.js";
import { ResourceQuota } from "./resource-quota.js";
import { ServiceAccount, type ServiceAccountLookup } from "./service-account.js";

/** What a plugin may be built from (kube: the admission plugin initializers). */
export interface PluginDeps {
  registry: Registry;
  store: RegistryStore;
  cache: WatchCache | undefined;
  quotaUsage: QuotaUsage;
  /** DefaultTolerationSeconds' flags (default 300 s each). */
  defaultNotReadyTolerationSeconds?: number | undefined;
  defaultUnreachableTolerationSeconds?: number | undefined;
}

/** A service account from the watch cache (this server's own writes included), else the store. */
function serviceAccountLookup(d: PluginDeps): ServiceAccountLookup {
  const kind = d.registry.resource("", "v1", "serviceaccounts");
  return async (namespace, name) => {
    if (kind === undefined) return undefined;
    const cached = d.cache === undefined ? undefined : (await d.cache.for(kind)).get(namespace, name);
    if (cached !== undefined) return cached;
    try {
      return await d.store.get(kind, namespace, name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return undefined;
      throw e;
    }
  };
}

export const orderedPlugins: readonly { name: string; make(d: PluginDeps): AdmissionPlugin }[] = [
  { name: "NamespaceLifecycle", make: (d) => new NamespaceLifecycle(d.registry, d.store, d.cache) },
  { name: "LimitRanger", make: (d) => new LimitRanger(d.registry, d.store, d.cache) },
  { name: "ServiceAccount", make: (d) => new ServiceAccount(serviceAccountLookup(d)) },
  { name: "Priority", make: (d) => new Priority(d.registry, d.store, d.cache) },
  {
    name: "DefaultTolerationSeconds",
    make: (d) =>
      new DefaultTolerationSeconds({
        notReadySeconds: d.defaultNotReadyTolerationSeconds,
        unreachableSeconds: d.defaultUnreachableTolerationSeconds,
      }),
  },
  { name: "ResourceQuota", make: (d) => new ResourceQuota(d.quotaUsage) },
];

/**
 * Every registered plugin, in order (kube: all of them enabled), but those named in `disabled`
 * (kube-apiserver's --disable-admission-plugins).
 */
export function newAdmissionChain(d: PluginDeps, disabled: readonly string[] = []): AdmissionChain {
  return new AdmissionChain(
    orderedPlugins
      .filter((p) => !disabled.includes(p.name))
      .map((p) => {
        const plugin = p.make(d);
        if (plugin.name !== p.name) throw new Error(`plugin ${p.name} calls itself ${plugin.name}`);
        return plugin;
      }),
  );
}
