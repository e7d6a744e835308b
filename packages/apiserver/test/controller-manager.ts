/**
 * What kube-controller-manager adds to a bare API server, for the tests that expect a cluster:
 * the namespace, serviceaccount, root CA publisher and resource quota controllers of
 * @skiff/controllers (kube-apiserver alone makes no default ServiceAccount, no kube-root-ca.crt,
 * no quota status, and empties no deleted namespace). `skiff server` runs them in its controller
 * manager; these tests start the API server alone (startServer, createApiServer), so they start
 * the controllers beside it. Stop them before the server.
 */
import { type ClientConfig, configFromKubeconfig, KubeClient } from "@skiff/client";
import {
  namespaceControllerDescriptor,
  newControllerContext,
  resourceQuotaControllerDescriptor,
  rootCACertPublisherDescriptor,
  serviceAccountControllerDescriptor,
  startControllers,
} from "@skiff/controllers";
import type { ApiServer } from "../src/server.js";

export interface RunningControllers {
  stop(): Promise<void>;
}

/**
 * Runs the four controllers on `config`; the root CA publisher only with a CA (by default the
 * one the client trusts, as kube-controller-manager falls back to its kubeconfig's).
 */
export async function startNamespaceControllers(
  config: ClientConfig,
  rootCaPem = config.ca ?? "",
): Promise<RunningControllers> {
  const client = new KubeClient(config);
  const ctx = newControllerContext({ client, config: { rootCaPem } });
  const ac = new AbortController();
  const started = await startControllers(
    ctx,
    [
      resourceQuotaControllerDescriptor,
      namespaceControllerDescriptor,
      serviceAccountControllerDescriptor,
      rootCACertPublisherDescriptor,
    ],
    ac.signal,
  );
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        ac.abort();
        await started.done;
        await ctx.informers.shutdown();
        await ctx.broadcaster.shutdown();
        await client.close();
      })();
      return stopped;
    },
  };
}

/** The controllers for a server of startServer, through the admin kubeconfig it wrote. */
export const controllersFor = (kubeconfig: string) =>
  startNamespaceControllers(configFromKubeconfig(kubeconfig));

/**
 * The controllers for a server of createApiServer (plain HTTP, answering tests through inject):
 * it also listens on a loopback port for them, with `token` as their credentials. No root CA
 * publisher (the server has no CA), as before the controllers left the API server.
 */
export async function controllersForApp(server: ApiServer, token: string): Promise<RunningControllers> {
  const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
  return startNamespaceControllers({ server: address, token }, "");
}
