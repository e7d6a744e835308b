/**
 * Prometheus metrics with kube-apiserver's names: apiserver_request_total and
 * apiserver_request_duration_seconds, by verb, route and code.
 */
import { Counter, Histogram, Registry } from "prom-client";

export class ApiMetrics {
  private readonly total: Counter;
  private readonly duration: Histogram;

  constructor(private readonly registry: Registry = new Registry()) {
    this.total = new Counter({
      name: "apiserver_request_total",
      help: "Counter of apiserver requests broken out for each verb, route and HTTP response code.",
      labelNames: ["verb", "route", "code"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "apiserver_request_duration_seconds",
      help: "Response latency distribution in seconds for each verb and route.",
      labelNames: ["verb", "route"],
      buckets: [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  observe(method: string, route: string, code: number, seconds: number): void {
    const verb = method.toUpperCase();
    this.total.inc({ verb, route, code: String(code) });
    this.duration.observe({ verb, route }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
