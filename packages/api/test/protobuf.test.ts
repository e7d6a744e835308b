import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import t from "tap";
import { decodeKubernetesProtobuf, ProtobufDecodeError, protobufKinds } from "../src/protobuf/index.js";

const execFileP = promisify(execFile);

// ---- a tiny protobuf encoder for hand-built messages ----

type Bytes = Uint8Array;

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const cat = (...parts: (Bytes | number[])[]): Bytes => Uint8Array.from(parts.flatMap((p) => [...p]));
const tag = (no: number, wt: number) => varint(no * 8 + wt);
/** A varint field. */
const fv = (no: number, n: number | bigint | boolean) =>
  cat(tag(no, 0), varint(typeof n === "boolean" ? Number(n) : n));
/** A length-delimited field: a string, raw bytes, or a sub-message given as its parts. */
const fl = (no: number, v: string | Bytes) => {
  const b = typeof v === "string" ? new TextEncoder().encode(v) : v;
  return cat(tag(no, 2), varint(b.length), b);
};
const fm = (no: number, ...parts: Bytes[]) => fl(no, cat(...parts));
const entry = (no: number, k: string, v: string | Bytes) => fm(no, fl(1, k), fl(2, v));

function envelope(apiVersion: string, kind: string, raw: Bytes): Bytes {
  return cat(
    [0x6b, 0x38, 0x73, 0x00],
    fm(1, fl(1, apiVersion), fl(2, kind)),
    fl(2, raw),
    fl(3, ""),
    fl(4, ""),
  );
}

function decodeRaw(apiVersion: string, kind: string, ...parts: Bytes[]) {
  return decodeKubernetesProtobuf(envelope(apiVersion, kind, cat(...parts))).object;
}

t.test("special types: Time, IntOrString, Quantity, RawExtension, bytes", async (t) => {
  const ts = Date.UTC(2024, 0, 2, 3, 4, 5) / 1000;
  const ns = decodeRaw(
    "v1",
    "Namespace",
    fm(
      1,
      fl(1, "ns1"),
      fm(8, fv(1, ts), fv(2, 123)),
      fm(9),
      fm(17, fl(1, "kubectl"), fm(4, fv(1, ts)), fl(6, "FieldsV1"), fm(7, fl(1, '{"f:metadata":{}}'))),
    ),
  );
  t.same(ns, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: "ns1",
      creationTimestamp: "2024-01-02T03:04:05Z",
      managedFields: [
        {
          manager: "kubectl",
          time: "2024-01-02T03:04:05Z",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:metadata": {} },
        },
      ],
    },
  });

  const svc = decodeRaw(
    "v1",
    "Service",
    fm(
      2,
      fm(1, fl(1, "http"), fv(3, 80), fm(4, fv(1, 0), fv(2, 8080))),
      fm(1, fl(1, "named"), fv(3, 81), fm(4, fv(1, 1), fl(3, "web"))),
      fm(1, fl(1, "zero"), fv(3, 82), fm(4)),
    ),
  );
  t.same((svc.spec as { ports: unknown }).ports, [
    { name: "http", port: 80, targetPort: 8080 },
    { name: "named", port: 81, targetPort: "web" },
    { name: "zero", port: 82, targetPort: 0 },
  ]);

  const secret = decodeRaw(
    "v1",
    "Secret",
    fm(1, fl(1, "s")),
    entry(2, "k", Uint8Array.of(0, 1, 2, 255)),
    entry(2, "empty", new Uint8Array(0)),
    fl(3, "Opaque"),
    entry(4, "plain", "text"),
    fv(5, false),
  );
  t.same(secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    data: { k: "AAEC/w==", empty: "" },
    type: "Opaque",
    stringData: { plain: "text" },
    immutable: false,
  });

  const pod = decodeRaw(
    "v1",
    "Pod",
    fm(
      2,
      fm(
        2,
        fl(1, "c"),
        fm(
          8,
          fm(1, fl(1, "cpu"), fm(2, fl(1, "500m"))),
          fm(2, fl(1, "memory"), fm(2, fl(1, "1Gi"))),
          fm(2, fl(1, "x")),
        ),
        fm(10, fm(1, fm(2, fl(1, "/healthz"), fm(2, fv(2, 8080)))), fv(2, 5), fv(4, 0)),
        fm(11, fm(1, fm(3, fm(1, fv(1, 1), fl(3, "http"))))),
        fm(22, fm(1, fm(1, fl(1, "cat"), fl(1, "/ready")))),
      ),
      fm(1, fl(1, "v"), fm(2, fm(19, fm(1, fl(1, "cm")), fv(3, 420)))),
      fm(1, fl(1, "e"), fm(2, fm(2, fm(2, fl(1, "1Gi"))))),
      fv(4, 0),
    ),
  );
  t.same(pod.spec, {
    containers: [
      {
        name: "c",
        resources: { limits: { cpu: "500m" }, requests: { memory: "1Gi", x: "0" } },
        livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, initialDelaySeconds: 5 },
        readinessProbe: { tcpSocket: { port: "http" } },
        startupProbe: { exec: { command: ["cat", "/ready"] } },
      },
    ],
    volumes: [
      { name: "v", configMap: { name: "cm", defaultMode: 420 } },
      { name: "e", emptyDir: { sizeLimit: "1Gi" } },
    ],
    terminationGracePeriodSeconds: 0,
  });
});

t.test("omitempty, pointers, maps, merging, negative and packed varints", async (t) => {
  const d = decodeRaw(
    "apps/v1",
    "Deployment",
    fm(1, fl(1, "d"), fl(2, ""), fv(7, 0), entry(11, "a", "1"), entry(11, "b", ""), fv(10, 0)),
    fm(
      2,
      fv(1, 0),
      fv(5, 0),
      fv(7, false),
      fm(4, fl(1, "RollingUpdate"), fm(2, fm(1, fv(1, 1), fl(3, "25%")))),
    ),
    fm(2, fm(3, fm(2, fm(14, fv(2, -5), fv(4, 1), fv(4, 2), fl(4, Uint8Array.of(3, 4)))))),
    fm(3),
  );
  t.same(d, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", labels: { a: "1", b: "" }, deletionGracePeriodSeconds: 0 },
    spec: {
      replicas: 0,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%" } },
      template: { spec: { securityContext: { runAsUser: -5, supplementalGroups: [1, 2, 3, 4] } } },
    },
    status: {},
  });
  // A later zero value of a non-pointer field overrides (and so omits) an earlier one.
  const cm = decodeRaw("v1", "ConfigMap", fm(1, fl(1, "x"), fl(3, "ns")), fm(1, fl(3, "")), fv(4, true));
  t.same(cm, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, immutable: true });
  // Go's zero time (0001-01-01) is omitted like an empty Time.
  const ns = decodeRaw("v1", "Namespace", fm(1, fm(8, fv(1, -62135596800))));
  t.same(ns.metadata, {});
});

t.test("errors", async (t) => {
  const isErr = (fn: () => unknown, re: RegExp, name: string) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ProtobufDecodeError, `${name}: throws ProtobufDecodeError`);
    t.match(err instanceof Error ? err.message : String(err), re, name);
  };
  const good = envelope("v1", "ConfigMap", fm(1, fl(1, "x")));
  isErr(
    () => decodeKubernetesProtobuf(Uint8Array.of(0x7b, 0x7d)),
    /expected prefix 6b387300.*got 7b7d/,
    "bad magic",
  );
  isErr(() => decodeKubernetesProtobuf(new Uint8Array(0)), /got <empty>/, "empty body");
  isErr(
    () => decodeKubernetesProtobuf(good.subarray(0, good.length - 5)),
    /exceeds the \d+ remaining bytes/,
    "cut",
  );
  isErr(
    () => decodeKubernetesProtobuf(envelope("v1", "ConfigMap", Uint8Array.of(0x38, 0xff))),
    /truncated varint/,
    "truncated varint",
  );
  isErr(
    () => decodeKubernetesProtobuf(envelope("v1", "ConfigMap", cat(fm(1, fv(1, 5))))),
    /field name \(1\) of meta\.v1\.ObjectMeta has wire type varint, expected length-delimited/,
    "wrong wire type",
  );
  isErr(
    () =>
      decodeKubernetesProtobuf(envelope("v1", "ConfigMap", cat(fm(1, fl(1, "x"), fv(99, 1)), fv(4, true)))),
    /meta\.v1\.ObjectMeta field 99 \(varint\) at metadata/,
    "unknown field",
  );
  isErr(
    () =>
      decodeRaw(
        "apps/v1",
        "Deployment",
        fm(2, fm(3, fm(2, fm(2, fl(1, "c"), fv(77, 1)), fm(2, fm(31, fv(1, 1)))))),
      ),
    /core\.v1\.Container field 77 \(varint\) at spec\.template\.spec\.containers\[0\].*core\.v1\.Container field 31 \(length-delimited\) at spec\.template\.spec\.containers\[1\]/,
    "unknown fields are collected across the object",
  );
  // batch.v1.JobStatus is marked skip-unknown: its extra fields are tolerated.
  t.same(decodeRaw("batch/v1", "Job", fm(3, fv(5, 2), fm(1, fl(1, "Complete")))).status, { succeeded: 2 });
  isErr(() => decodeRaw("apps/v1", "Foo"), /no protobuf schema for apps\/v1 Foo/, "unknown kind");
  isErr(
    () =>
      decodeKubernetesProtobuf(
        cat([0x6b, 0x38, 0x73, 0x00], fm(1, fl(1, "v1"), fl(2, "Secret")), fl(3, "gzip")),
      ),
    /unsupported contentEncoding "gzip"/,
    "content encoding",
  );
  isErr(
    () => decodeKubernetesProtobuf(cat([0x6b, 0x38, 0x73, 0x00], fl(2, ""))),
    /missing typeMeta/,
    "no typeMeta",
  );
  isErr(
    () => decodeRaw("v1", "Service", fm(2, fm(1, fm(4, fv(1, 7))))),
    /IntOrString .* has unknown type 7/,
    "bad intstr type",
  );
  isErr(
    () => decodeKubernetesProtobuf(envelope("v1", "ConfigMap", Uint8Array.of(0x08, ...Array(11).fill(0xff)))),
    /varint/,
    "overlong varint",
  );
  t.ok(protobufKinds().includes("apps/v1 Deployment"));
});

// ---- the real kubectl ----

const KUBECTL = "/usr/bin/kubectl";

interface Captured {
  method: string;
  url: string;
  contentType: string | undefined;
  body: Buffer;
}

async function withFakeApiserver<T>(fn: (port: number, captured: Captured[]) => Promise<T>): Promise<T> {
  const captured: Captured[] = [];
  const send = (res: ServerResponse, code: number, obj: unknown) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(obj));
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    captured.push({
      method: req.method ?? "",
      url: req.url ?? "",
      contentType: req.headers["content-type"],
      body,
    });
    if (req.method === "GET" && url.pathname === "/version") {
      return send(res, 200, {
        major: "1",
        minor: "32",
        gitVersion: "v1.32.4-skiff",
        gitCommit: "x",
        gitTreeState: "clean",
        buildDate: "2025-01-01T00:00:00Z",
        goVersion: "go1.23",
        compiler: "gc",
        platform: "linux/amd64",
      });
    }
    if (req.method === "GET" && url.pathname === "/api") {
      return send(res, 200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    }
    if (req.method === "GET" && url.pathname === "/apis") {
      return send(res, 200, { kind: "APIGroupList", apiVersion: "v1", groups: [] });
    }
    if (req.method === "POST") {
      try {
        const { apiVersion, kind, object } = decodeKubernetesProtobuf(body);
        const metadata = object.metadata as { name?: string; namespace?: string } | undefined;
        return send(res, 201, {
          apiVersion,
          kind,
          metadata: { name: metadata?.name, namespace: metadata?.namespace },
        });
      } catch (err) {
        return send(res, 400, {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          code: 400,
          message: String(err),
        });
      }
    }
    send(res, 404, { kind: "Status", apiVersion: "v1", status: "Failure", code: 404, reason: "NotFound" });
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await fn((server.address() as AddressInfo).port, captured);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

t.test("decodes the protobuf bodies the real kubectl 1.32 sends", async (t) => {
  if (!existsSync(KUBECTL)) {
    if (process.env.CI) t.fail(`${KUBECTL} is missing (required in CI)`);
    else t.comment(`skipping: ${KUBECTL} is not installed`);
    return;
  }
  const cacheDir = mkdtempSync(join(tmpdir(), "skiff-protobuf-kubectl-"));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  const env = { ...process.env };
  delete env.KUBECONFIG;

  const commands: string[][] = [
    ["create", "namespace", "ns1"],
    ["create", "configmap", "cm1", "-n", "default", "--from-literal=a=b", "--from-literal=c=d"],
    ["create", "secret", "generic", "s1", "--from-literal=k=v"],
    ["create", "deployment", "d1", "--image=nginx:1.25", "--replicas=3", "--port=80"],
    ["create", "service", "clusterip", "svc1", "--tcp=80:8080"],
    ["create", "serviceaccount", "sa1"],
    ["create", "job", "j1", "--image=busybox", "--", "echo", "hi"],
  ];
  const posts = await withFakeApiserver(async (port, captured) => {
    const out: Captured[] = [];
    for (const args of commands) {
      const before = captured.length;
      // Global flags go first: `kubectl create job ... -- cmd` passes everything after `--` to the container.
      const full = ["--server", `http://127.0.0.1:${port}`, "--cache-dir", cacheDir, ...args];
      const { stdout } = await execFileP(KUBECTL, full, { env, timeout: 60_000 });
      t.match(stdout, /created/, `kubectl ${args.slice(0, 3).join(" ")}: ${stdout.trim()}`);
      const reqs = captured.slice(before);
      t.comment(
        `kubectl ${args.join(" ")}: ${reqs.map((r) => `${r.method} ${r.url} [${r.contentType ?? "-"}]`).join(", ")}`,
      );
      const post = reqs.filter((r) => r.method === "POST");
      t.equal(post.length, 1, "one POST per create");
      if (post[0]) out.push(post[0]);
    }
    return out;
  });

  for (const p of posts)
    t.equal(p.contentType, "application/vnd.kubernetes.protobuf", `${p.url} is protobuf`);
  const objs = posts.map((p) => decodeKubernetesProtobuf(p.body).object);
  const [ns, cm, secret, deploy, svc, sa, job] = objs;

  t.match(posts[0]?.url, /^\/api\/v1\/namespaces\?/);
  t.same(ns, { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns1" }, spec: {}, status: {} });

  t.match(posts[1]?.url, /^\/api\/v1\/namespaces\/default\/configmaps\?/);
  t.same(cm, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cm1", namespace: "default" },
    data: { a: "b", c: "d" },
  });

  t.same(secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s1" },
    data: { k: Buffer.from("v").toString("base64") },
  });

  t.match(posts[3]?.url, /^\/apis\/apps\/v1\/namespaces\/default\/deployments\?/);
  t.same(deploy, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d1", labels: { app: "d1" } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "d1" } },
      template: {
        metadata: { labels: { app: "d1" } },
        spec: {
          containers: [{ name: "nginx", image: "nginx:1.25", ports: [{ containerPort: 80 }], resources: {} }],
        },
      },
      strategy: {},
    },
    status: {},
  });

  t.same(svc, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "svc1", labels: { app: "svc1" } },
    spec: {
      ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
      selector: { app: "svc1" },
      type: "ClusterIP",
    },
    status: { loadBalancer: {} },
  });

  t.same(sa, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa1" } });

  t.match(posts[6]?.url, /^\/apis\/batch\/v1\/namespaces\/default\/jobs\?/);
  t.same(job, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j1" },
    spec: {
      template: {
        metadata: {},
        spec: {
          containers: [{ name: "j1", image: "busybox", command: ["echo", "hi"], resources: {} }],
          restartPolicy: "Never",
        },
      },
    },
    status: {},
  });
});
