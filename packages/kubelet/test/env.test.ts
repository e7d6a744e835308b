/**
 * The container environment as kube's makeEnvironmentVariables (kubelet_pods_test.go's cases
 * cut down): service link variables and the master service, envFrom with prefixes and invalid
 * keys, precedence, $(VAR) expansion and its `$$` escape, fieldRef, resourceFieldRef with
 * divisor rounding and node-allocatable defaults, configMap and secret key references with
 * kube's messages and optional handling, command expansion; and ClientObjectSource's token
 * cache over a recording client.
 */
import type { KubeObject, Pod } from "@skiff/api";
import type { ClientInterface } from "@skiff/client";
import t from "tap";
import {
  ClientObjectSource,
  type EnvironmentOptions,
  expand,
  expandCommand,
  makeEnvironment,
  type Service,
  type ServicePort,
} from "../src/index.js";
import { MemorySource } from "./memory-source.js";

function svc(ns: string, name: string, clusterIP: string, ports: ServicePort[]): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { namespace: ns, name }, spec: { clusterIP, ports } };
}

const services: Service[] = [
  svc("default", "kubernetes", "10.96.0.1", [{ name: "https", port: 443 }]),
  svc("default", "other", "10.96.0.2", [{ port: 80 }]),
  svc("ns", "my-db", "10.96.0.3", [
    { name: "sql", port: 5432 },
    { name: "metrics", port: 9100, protocol: "UDP" },
  ]),
  svc("ns", "headless", "None", [{ port: 80 }]),
];

function pod(container: object, spec: object = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", uid: "u1", labels: { app: "web" }, annotations: { a: "1" } },
    spec: {
      containers: [{ name: "c", image: "i", ...container }],
      serviceAccountName: "sa",
      nodeName: "node-a",
      ...spec,
    },
  };
}

function options(source = new MemorySource(), extra: Partial<EnvironmentOptions> = {}): EnvironmentOptions {
  return {
    podIP: "10.1.0.5",
    hostIP: "192.168.0.10",
    nodeName: "node-a",
    sources: source,
    services: async (ns) => services.filter((s) => s.metadata.namespace === ns),
    nodeAllocatable: { cpu: "4", memory: "8Gi" },
    ...extra,
  };
}

const env = async (p: Pod, o = options()) =>
  Object.fromEntries(
    (await makeEnvironment(p, p.spec.containers[0] as Pod["spec"]["containers"][0], o)).map((e) => [
      e.name,
      e.value,
    ]),
  );

t.test("expansion follows kube's expansion package", async (t) => {
  const m = (k: string) => ({ A: "a", B: "$(A)" })[k] ?? `$(${k})`;
  t.equal(expand("$(A)-$(B)", m), "a-$(A)", "values are not expanded again");
  t.equal(expand("$$(A)", m), "$(A)", "$$ escapes");
  t.equal(expand("$$$(A)", m), "$a");
  t.equal(expand("$(MISSING)", m), "$(MISSING)", "unknown references stay");
  t.equal(expand("$(A", m), "$(A", "incomplete reference stays");
  t.equal(expand("a$b$", m), "a$b$", "lone operators stay");
  t.equal(expand("$()", m), "$()");
  t.same(expandCommand(["sh", "-c", "echo $(GREETING) $$(GREETING)"], [{ name: "GREETING", value: "hi" }]), [
    "sh",
    "-c",
    "echo hi $(GREETING)",
  ]);
});

t.test("service links: pod's namespace, master service, disabled links", async (t) => {
  const e = await env(pod({}));
  t.equal(e.KUBERNETES_SERVICE_HOST, "10.96.0.1");
  t.equal(e.KUBERNETES_SERVICE_PORT, "443");
  t.equal(e.KUBERNETES_SERVICE_PORT_HTTPS, "443");
  t.equal(e.KUBERNETES_PORT, "tcp://10.96.0.1:443");
  t.equal(e.KUBERNETES_PORT_443_TCP, "tcp://10.96.0.1:443");
  t.equal(e.KUBERNETES_PORT_443_TCP_PROTO, "tcp");
  t.equal(e.KUBERNETES_PORT_443_TCP_PORT, "443");
  t.equal(e.KUBERNETES_PORT_443_TCP_ADDR, "10.96.0.1");
  t.equal(e.MY_DB_SERVICE_HOST, "10.96.0.3");
  t.equal(e.MY_DB_SERVICE_PORT, "5432");
  t.equal(e.MY_DB_SERVICE_PORT_SQL, "5432");
  t.equal(e.MY_DB_SERVICE_PORT_METRICS, "9100");
  t.equal(e.MY_DB_PORT, "tcp://10.96.0.3:5432");
  t.equal(e.MY_DB_PORT_9100_UDP, "udp://10.96.0.3:9100");
  t.equal(e.MY_DB_PORT_9100_UDP_PROTO, "udp");
  t.notOk("OTHER_SERVICE_HOST" in e, "other namespaces' services are not linked");
  t.notOk("HEADLESS_SERVICE_HOST" in e, "headless services are not linked");
  const off = await env(pod({}, { enableServiceLinks: false }));
  t.same(
    Object.keys(off)
      .filter((k) => k.includes("SERVICE"))
      .sort(),
    ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBERNETES_SERVICE_PORT_HTTPS"],
    "without links only the master service remains",
  );
});

t.test("envFrom, env precedence and expansion", async (t) => {
  const source = new MemorySource();
  source.setConfigMap("ns", "cfg", { A: "from-cm", B: "b", "1BAD": "x", "bad key": "y" });
  source.setSecret("ns", "sec", { PASSWORD: "pw" });
  const events: string[] = [];
  const p = pod({
    envFrom: [
      { configMapRef: { name: "cfg" } },
      { prefix: "S_", secretRef: { name: "sec" } },
      { configMapRef: { name: "gone", optional: true } },
    ],
    env: [
      { name: "A", value: "from-env" },
      { name: "C", value: "$(A)/$(B)/$(S_PASSWORD)/$(MY_DB_SERVICE_HOST)/$(D)/$$(A)" },
      { name: "D", value: "late" },
      { name: "MY_DB_SERVICE_PORT", value: "override" },
      { name: "EMPTY" },
    ],
  });
  const o = options(source, { recordEvent: (type, reason, msg) => events.push(`${type} ${reason} ${msg}`) });
  const list = await makeEnvironment(p, p.spec.containers[0] as Pod["spec"]["containers"][0], o);
  const e = Object.fromEntries(list.map((x) => [x.name, x.value]));
  t.equal(e.A, "from-env", "env wins over envFrom");
  t.equal(
    e.C,
    "from-env/b/pw/10.96.0.3/$(D)/$(A)",
    "earlier vars and service vars expand; later ones do not",
  );
  t.equal(e.EMPTY, "");
  t.equal(e.MY_DB_SERVICE_PORT, "override");
  t.equal(
    list.filter((x) => x.name === "MY_DB_SERVICE_PORT").length,
    1,
    "a container's own name hides the service one",
  );
  t.notOk("1BAD" in e);
  t.same(events, [
    "Warning InvalidEnvironmentVariableNames Keys [1BAD, bad key] from the EnvFrom configMap ns/cfg were skipped since they are considered invalid environment variable names.",
  ]);
  await t.rejects(env(pod({ envFrom: [{ configMapRef: { name: "gone" } }] }), o), {
    message: 'configmap "gone" not found',
    reason: "CreateContainerConfigError",
  });
  await t.rejects(env(pod({ envFrom: [{ secretRef: { name: "gone" } }] }), o), {
    message: 'secret "gone" not found',
  });
});

t.test("fieldRef and resourceFieldRef", async (t) => {
  const f = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const r = (name: string, resource: string, divisor?: string, containerName?: string) => ({
    name,
    valueFrom: {
      resourceFieldRef: {
        resource,
        ...(divisor ? { divisor } : {}),
        ...(containerName ? { containerName } : {}),
      },
    },
  });
  const p = pod(
    {
      resources: { limits: { cpu: "1500m" }, requests: { cpu: "250m", memory: "100Mi" } },
      env: [
        f("NAME", "metadata.name"),
        f("NS", "metadata.namespace"),
        f("UID", "metadata.uid"),
        f("APP", "metadata.labels['app']"),
        f("LABELS", "metadata.labels"),
        f("ANN", "metadata.annotations['a']"),
        f("NODE", "spec.nodeName"),
        f("SA", "spec.serviceAccountName"),
        f("HOST_IP", "status.hostIP"),
        f("HOST_IPS", "status.hostIPs"),
        f("POD_IP", "status.podIP"),
        f("POD_IPS", "status.podIPs"),
        r("CPU_LIMIT", "limits.cpu"),
        r("CPU_LIMIT_M", "limits.cpu", "1m"),
        r("MEM_LIMIT", "limits.memory", "1Mi"),
        r("CPU_REQ", "requests.cpu"),
        r("MEM_REQ", "requests.memory", "1Mi"),
        r("OTHER_CPU", "limits.cpu", "", "side"),
      ],
    },
    { initContainers: [{ name: "side", image: "i", resources: { limits: { cpu: "2" } } }] },
  );
  const e = await env(p, options(undefined, { services: undefined, podIPs: ["10.1.0.5", "fd00::5"] }));
  t.same(e, {
    NAME: "p",
    NS: "ns",
    UID: "u1",
    APP: "web",
    LABELS: 'app="web"',
    ANN: "1",
    NODE: "node-a",
    SA: "sa",
    HOST_IP: "192.168.0.10",
    HOST_IPS: "192.168.0.10",
    POD_IP: "10.1.0.5",
    POD_IPS: "10.1.0.5,fd00::5",
    CPU_LIMIT: "2",
    CPU_LIMIT_M: "1500",
    MEM_LIMIT: "8192",
    CPU_REQ: "1",
    MEM_REQ: "100",
    OTHER_CPU: "2",
  });
  await t.rejects(env(pod({ env: [f("X", "spec.bogus")] })), {
    message: "unsupported fieldPath: spec.bogus",
  });
  await t.rejects(env(pod({ env: [r("X", "limits.gpu")] })), {
    message: "unsupported container resource : limits.gpu",
  });
});

t.test("configMapKeyRef and secretKeyRef", async (t) => {
  const source = new MemorySource();
  source.setConfigMap("ns", "cfg", { k: "v" });
  source.setSecret("ns", "sec", { k: "secret-v" });
  const ref = (kind: "configMapKeyRef" | "secretKeyRef", name: string, key: string, optional?: boolean) => ({
    name: `${kind}_${name}_${key}`.replaceAll("-", "_"),
    valueFrom: { [kind]: { name, key, ...(optional === undefined ? {} : { optional }) } },
  });
  const o = options(source, { services: undefined });
  const e = await env(
    pod({
      env: [
        ref("configMapKeyRef", "cfg", "k"),
        ref("secretKeyRef", "sec", "k"),
        ref("configMapKeyRef", "cfg", "missing", true),
        ref("configMapKeyRef", "gone", "k", true),
        ref("secretKeyRef", "sec", "missing", true),
      ],
    }),
    o,
  );
  t.same(e, { configMapKeyRef_cfg_k: "v", secretKeyRef_sec_k: "secret-v" }, "optional misses are skipped");
  const fails = async (r: object, message: string) => t.rejects(env(pod({ env: [r] }), o), { message });
  await fails(ref("configMapKeyRef", "cfg", "nokey"), "couldn't find key nokey in ConfigMap ns/cfg");
  await fails(ref("secretKeyRef", "sec", "nokey"), "couldn't find key nokey in Secret ns/sec");
  await fails(ref("configMapKeyRef", "gone", "k"), 'configmap "gone" not found');
  await fails(ref("secretKeyRef", "gone", "k"), 'secret "gone" not found');
});

t.test("ClientObjectSource: GETs, the token subresource and kube's refresh rule", async (t) => {
  const calls: string[] = [];
  let now = Date.parse("2026-01-01T00:00:00Z");
  let serial = 0;
  const { ApiError } = await import("@skiff/client");
  const client = {
    resource(apiVersion: string, resource: string, ns?: string) {
      return {
        async get(name: string) {
          calls.push(`GET ${apiVersion} ${ns}/${resource}/${name}`);
          if (name === "missing")
            throw new ApiError(404, {
              kind: "Status",
              apiVersion: "v1",
              status: "Failure",
              reason: "NotFound",
              code: 404,
              message: "x",
              metadata: {},
            });
          return { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { k: "v" } };
        },
        async create(obj: KubeObject) {
          calls.push(`POST ${apiVersion} ${ns}/${resource} ${JSON.stringify(obj.spec)}`);
          serial++;
          const exp = new Date(now + 3607_000).toISOString().replace(/\.\d+Z$/, "Z");
          return { ...obj, status: { token: `t${serial}`, expirationTimestamp: exp } };
        },
      };
    },
  } as unknown as ClientInterface;
  const src = new ClientObjectSource(
    client,
    () => now,
    () => 0,
  );
  t.same((await src.getConfigMap("ns", "cfg"))?.data, { k: "v" });
  t.equal(await src.getSecret("ns", "missing"), undefined, "NotFound reads as undefined");
  const opts = { audiences: [], expirationSeconds: 3607, boundPod: { name: "p", uid: "u1" } };
  t.equal((await src.requestServiceAccountToken("ns", "sa", opts)).token, "t1");
  t.same(
    calls.at(-1),
    `POST v1 ns/serviceaccounts/sa/token {"audiences":[],"expirationSeconds":3607,"boundObjectRef":{"apiVersion":"v1","kind":"Pod","name":"p","uid":"u1"}}`,
  );
  now += 2800_000; // 78% of the lifetime: still fresh
  t.equal(
    (await src.requestServiceAccountToken("ns", "sa", opts)).token,
    "t1",
    "reused before 80% of its lifetime",
  );
  now += 100_000; // past 80%
  t.equal(
    (await src.requestServiceAccountToken("ns", "sa", opts)).token,
    "t2",
    "renewed within 20% of expiry",
  );
});
