/**
 * A cluster for the controllers' end-to-end tests, in this process: a real API server (embedded
 * store, HTTPS on a free loopback port), hollow nodes that register, renew leases and turn bound
 * pods Running and Ready, the scheduler, and the given controllers on one controller context.
 * Tests only: the controllers talk to the API server through the client, never import it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "@skiff/apiserver";
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { HollowNodes, type HollowNodesOptions, hollowNodesOptions } from "@skiff/hollow-node";
import { parseSchedulerConfig, SchedulerComponent } from "@skiff/scheduler";
import { waitFor } from "@skiff/testkit";
import type { ControllerManagerConfig } from "../../src/config.js";
import { newControllerContext } from "../../src/context.js";
import type { Controller } from "../../src/controller.js";
import type { ControllerDescriptor } from "../../src/registry.js";
import { startControllers } from "../../src/run.js";
import { serviceAccountControllerDescriptor } from "../../src/serviceaccount/descriptor.js";

export interface ClusterOptions {
  /** Hollow nodes (0: none). Default 3. */
  nodes?: number;
  hollow?: Partial<HollowNodesOptions>;
  /** Run the scheduler (default true). */
  scheduler?: boolean;
  /** The controllers to run; the serviceaccount controller always runs (pods need "default"). */
  controllers?: readonly ControllerDescriptor[];
  config?: Partial<ControllerManagerConfig>;
  /** Extra `skiff apiserver` flags. */
  serverArgs?: readonly string[];
}

export interface Cluster {
  readonly kubeconfig: string;
  readonly client: KubeClient;
  readonly hollow: HollowNodes | undefined;
  readonly controllers: ReadonlyMap<string, Controller>;
  /** Creates a namespace and waits for its default ServiceAccount (pods need it). */
  namespace(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-ctrl-e2e-"));
  const kubeconfig = join(dir, "admin.kubeconfig");
  const server = await startServer(
    [
      ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      ...["--write-kubeconfig", kubeconfig],
      ...(o.serverArgs ?? []),
    ],
    () => {},
    silentLogger,
  );
  const client = new KubeClient(configFromKubeconfig(kubeconfig));
  const nodes = o.nodes ?? 3;
  const hollow =
    nodes === 0
      ? undefined
      : new HollowNodes(
          hollowNodesOptions({ kubeconfig, count: nodes, cpu: "4", memory: "16Gi", ...o.hollow }),
          { log: silentLogger },
        );
  const scheduler =
    o.scheduler === false
      ? undefined
      : new SchedulerComponent({
          client: configFromKubeconfig(kubeconfig),
          config: parseSchedulerConfig(undefined),
          compareIntervalSeconds: 0,
          logger: silentLogger,
        });
  const ctlClient = new KubeClient(configFromKubeconfig(kubeconfig));
  const ctx = newControllerContext({ client: ctlClient, config: o.config ?? {} });
  const ac = new AbortController();
  let started: Awaited<ReturnType<typeof startControllers>> | undefined;
  const stop = async () => {
    ac.abort();
    await started?.done;
    await ctx.informers.shutdown();
    await ctx.broadcaster.shutdown();
    await scheduler?.stop();
    await hollow?.stop();
    await ctlClient.close();
    await client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (hollow !== undefined) {
      await hollow.start();
      await hollow.ready;
    }
    if (scheduler !== undefined) {
      await scheduler.start();
      await scheduler.ready;
    }
    // The API server makes no ServiceAccount (kube-controller-manager does): without "default"
    // the ServiceAccount admission plugin refuses every pod.
    const descriptors = [...(o.controllers ?? [])];
    if (!descriptors.some((d) => d.name === serviceAccountControllerDescriptor.name))
      descriptors.push(serviceAccountControllerDescriptor);
    started = await startControllers(ctx, descriptors, ac.signal);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    kubeconfig,
    client,
    hollow,
    controllers: started.controllers,
    namespace: async (name) => {
      await client
        .resource("v1", "namespaces")
        .create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
      await waitFor(
        async () => {
          try {
            await client.resource("v1", "serviceaccounts", name).get("default");
            return true;
          } catch {
            return false;
          }
        },
        { what: `the default ServiceAccount of ${name}`, timeoutMs: 30_000 },
      );
    },
    stop,
  };
}
