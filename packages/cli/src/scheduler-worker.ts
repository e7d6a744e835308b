/**
 * The scheduler of `skiff server`, in a worker thread: its cycles run on their own core instead
 * of between the API server's requests (measured in docs/benchmarks.md). It talks to the API
 * server over HTTPS like any client; the parent asks it to stop and for its metrics text.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type LeaderElectionOptions, parseSchedulerConfig, SchedulerComponent } from "@skiff/scheduler";

export interface SchedulerWorkerData {
  client: { server: string; ca: string; cert: string; key: string };
  leaderElection: LeaderElectionOptions;
}

export type FromWorker =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "lost" }
  | { type: "metrics"; id: number; text: string }
  | { type: "stopped" };

export type ToWorker = { type: "stop" } | { type: "metrics"; id: number };

const port = parentPort;
if (port === null) throw new Error("scheduler-worker: not in a worker thread");
const data = workerData as SchedulerWorkerData;
const post = (m: FromWorker) => port.postMessage(m);
const scheduler = new SchedulerComponent({
  client: data.client,
  config: parseSchedulerConfig(undefined),
  leaderElection: data.leaderElection,
});
port.on("message", (m: ToWorker) => {
  if (m.type === "metrics")
    void scheduler.metrics.metrics().then((text) => post({ type: "metrics", id: m.id, text }));
  else if (m.type === "stop")
    void scheduler.stop().finally(() => {
      post({ type: "stopped" });
      port.close();
    });
});
void scheduler.lost.then(() => post({ type: "lost" }));
try {
  await scheduler.start();
  await scheduler.ready;
  post({ type: "ready" });
} catch (e) {
  post({ type: "failed", message: e instanceof Error ? e.message : String(e) });
}
