/**
 * DirVolumeManager against a temp dir and an in-memory object source: every volume kind, the
 * AtomicWriter's layout and atomic update (..data swapped, old timestamped dir removed),
 * missing and optional ConfigMaps and keys (kube's messages), hostPath types, the
 * kube-api-access projected volume the ServiceAccount admission adds, mounts (subPath,
 * subPathExpr, read-only kinds, /etc/hosts), tear-down and listing.
 */
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "@skiff/api";
import t, { type Test } from "tap";
import { DirVolumeManager, VolumeError } from "../src/index.js";
import { MemorySource } from "./memory-source.js";

const silent = { info() {}, warn() {}, error() {}, debug() {} };

function setup(t: Test) {
  const root = mkdtempSync(join(tmpdir(), "skiff-vol-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const source = new MemorySource();
  const vm = new DirVolumeManager({
    podsDir: join(root, "pods"),
    sources: source,
    nodeName: "node-a",
    logger: silent,
    nodeAllocatable: () => ({ cpu: "4", memory: "8Gi" }),
  });
  return { root, source, vm };
}

function pod(
  volumes: unknown[],
  containers: unknown[] = [{ name: "c", image: "busybox" }],
  extra: object = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "p",
      namespace: "ns",
      uid: "uid-1",
      labels: { app: "web", tier: "a" },
      annotations: { note: "hi" },
    },
    spec: {
      containers: containers as Pod["spec"]["containers"],
      volumes: volumes as Pod["spec"]["volumes"],
      serviceAccountName: "sa",
      ...extra,
    },
  };
}

const read = (p: string) => readFileSync(p, "utf8");
const mode = (p: string) => statSync(p).mode & 0o777;

t.test("emptyDir and the kube layout of pod directories", async (t) => {
  const { root, vm } = setup(t);
  const vols = await vm.setUpPod(
    pod([
      { name: "scratch", emptyDir: {} },
      { name: "mem", emptyDir: { medium: "Memory" } },
    ]),
  );
  t.equal(vols.get("scratch"), join(root, "pods/uid-1/volumes/kubernetes.io~empty-dir/scratch"));
  t.ok(statSync(vols.get("mem") as string).isDirectory(), "medium Memory is a directory too");
  t.equal(mode(vols.get("scratch") as string), 0o777);
  t.same(await vm.listPods(), ["uid-1"]);
  await vm.tearDownPod("uid-1");
  await vm.tearDownPod("uid-1");
  t.same(await vm.listPods(), [], "tear-down removes the pod dir and is idempotent");
});

t.test("configMap: every key, items, modes, the ..data layout", async (t) => {
  const { source, vm } = setup(t);
  source.setConfigMap("ns", "cfg", { a: "A", b: "B" }, { bin: Buffer.from([0, 1, 2]).toString("base64") });
  const vols = await vm.setUpPod(
    pod([
      { name: "all", configMap: { name: "cfg" } },
      {
        name: "some",
        configMap: { name: "cfg", items: [{ key: "a", path: "dir/x", mode: 0o600 }], defaultMode: 0o640 },
      },
    ]),
  );
  const all = vols.get("all") as string;
  t.equal(read(join(all, "a")), "A");
  t.same([...readFileSync(join(all, "bin"))], [0, 1, 2], "binaryData decoded");
  t.equal(readlinkSync(join(all, "a")), "..data/a", "user-visible paths go through ..data");
  t.match(readlinkSync(join(all, "..data")), /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\w+$/);
  t.equal(mode(join(all, "a")), 0o644, "defaultMode 0644");
  const some = vols.get("some") as string;
  t.equal(read(join(some, "dir/x")), "A");
  t.equal(mode(join(some, "dir/x")), 0o600, "item mode wins");
  t.equal(readlinkSync(join(some, "dir")), "..data/dir", "one symlink per top-level component");
  t.notOk(readdirSync(some).includes("b"), "keys not listed in items are absent");
});

t.test("configMap update is atomic: ..data swapped, old dir removed, stale keys gone", async (t) => {
  const { source, vm } = setup(t);
  source.setConfigMap("ns", "cfg", { a: "1", b: "2" });
  const p = pod([{ name: "cfg", configMap: { name: "cfg" } }]);
  const dir = (await vm.setUpPod(p)).get("cfg") as string;
  const first = readlinkSync(join(dir, "..data"));
  await vm.setUpPod(p);
  t.equal(readlinkSync(join(dir, "..data")), first, "an unchanged payload is not rewritten");
  source.setConfigMap("ns", "cfg", { a: "changed", c: "3" });
  await vm.setUpPod(p);
  const second = readlinkSync(join(dir, "..data"));
  t.not(second, first);
  t.equal(read(join(dir, "a")), "changed");
  t.equal(read(join(dir, "c")), "3");
  t.throws(() => lstatSync(join(dir, "b")), "a key removed from the ConfigMap disappears");
  t.same(
    readdirSync(dir).filter((n) => n.startsWith("..") && n !== "..data"),
    [second],
    "only the current timestamped dir is left",
  );
});

t.test("missing ConfigMaps, Secrets and keys: kube's messages; optional ones are empty", async (t) => {
  const { source, vm } = setup(t);
  await t.rejects(vm.setUpPod(pod([{ name: "v", configMap: { name: "nope" } }])), {
    constructor: VolumeError,
    reason: "FailedMount",
    message: 'MountVolume.SetUp failed for volume "v" : configmap "nope" not found',
  });
  await t.rejects(vm.setUpPod(pod([{ name: "s", secret: { secretName: "nope" } }])), {
    message: 'MountVolume.SetUp failed for volume "s" : secret "nope" not found',
  });
  const vols = await vm.setUpPod(pod([{ name: "v", configMap: { name: "nope", optional: true } }]));
  t.same(
    readdirSync(vols.get("v") as string),
    ["..data", readlinkSync(join(vols.get("v") as string, "..data"))].sort(),
  );
  source.setConfigMap("ns", "cfg", { a: "A" });
  await t.rejects(
    vm.setUpPod(pod([{ name: "v", configMap: { name: "cfg", items: [{ key: "k", path: "k" }] } }])),
    {
      message: 'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: k',
    },
  );
  source.setSecret("ns", "sec", { a: "A" });
  await t.rejects(
    vm.setUpPod(pod([{ name: "s", secret: { secretName: "sec", items: [{ key: "k", path: "k" }] } }])),
    {
      message: 'MountVolume.SetUp failed for volume "s" : references non-existent secret key: k',
    },
  );
  const ok = await vm.setUpPod(
    pod([
      {
        name: "v",
        configMap: {
          name: "cfg",
          optional: true,
          items: [
            { key: "k", path: "k" },
            { key: "a", path: "a" },
          ],
        },
      },
    ]),
  );
  t.equal(read(join(ok.get("v") as string, "a")), "A", "optional: a missing key is skipped");
});

t.test("secret: decoded data and mode", async (t) => {
  const { source, vm } = setup(t);
  source.setSecret("ns", "sec", { password: "s3cret" });
  const vols = await vm.setUpPod(pod([{ name: "s", secret: { secretName: "sec", defaultMode: 0o400 } }]));
  t.equal(read(join(vols.get("s") as string, "password")), "s3cret");
  t.equal(mode(join(vols.get("s") as string, "password")), 0o400);
});

t.test("downwardAPI: metadata and resources, refreshed when labels change", async (t) => {
  const { vm } = setup(t);
  const containers = [
    { name: "c", image: "i", resources: { limits: { cpu: "250m" }, requests: { memory: "64Mi" } } },
  ];
  const items = [
    { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
    { path: "app", fieldRef: { fieldPath: "metadata.labels['app']" } },
    { path: "note", fieldRef: { fieldPath: "metadata.annotations['note']" } },
    { path: "name", fieldRef: { fieldPath: "metadata.name" } },
    { path: "ns", fieldRef: { fieldPath: "metadata.namespace" } },
    { path: "uid", fieldRef: { fieldPath: "metadata.uid" } },
    { path: "cpu", resourceFieldRef: { containerName: "c", resource: "limits.cpu", divisor: "1m" } },
    {
      path: "mem-limit",
      resourceFieldRef: { containerName: "c", resource: "limits.memory", divisor: "1Mi" },
    },
    { path: "mem-req", resourceFieldRef: { containerName: "c", resource: "requests.memory" } },
  ];
  const p = pod([{ name: "d", downwardAPI: { items } }], containers);
  const dir = (await vm.setUpPod(p)).get("d") as string;
  const got = Object.fromEntries(items.map((i) => [i.path, read(join(dir, i.path))]));
  t.same(got, {
    labels: 'app="web"\ntier="a"',
    app: "web",
    note: "hi",
    name: "p",
    ns: "ns",
    uid: "uid-1",
    cpu: "250",
    "mem-limit": "8192",
    "mem-req": String(64 * 1024 * 1024),
  });
  p.metadata.labels = { app: "api" };
  await vm.setUpPod(p);
  t.equal(read(join(dir, "app")), "api");
  await t.rejects(
    vm.setUpPod(
      pod([{ name: "d", downwardAPI: { items: [{ path: "x", fieldRef: { fieldPath: "spec.nodeName" } }] } }]),
    ),
    {
      message: 'MountVolume.SetUp failed for volume "d" : unsupported fieldPath: spec.nodeName',
    },
  );
});

t.test("projected: the kube-api-access volume of the ServiceAccount admission", async (t) => {
  const { source, vm } = setup(t);
  // What packages/apiserver's ServiceAccount admission plugin adds (tokenVolume).
  const apiAccess = {
    name: "kube-api-access-abcde",
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
      defaultMode: 0o644,
    },
  };
  const containers = [
    {
      name: "c",
      image: "i",
      volumeMounts: [
        {
          name: "kube-api-access-abcde",
          mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
          readOnly: true,
        },
      ],
    },
  ];
  await t.rejects(vm.setUpPod(pod([apiAccess], containers)), {
    message: /configmap "kube-root-ca.crt" not found/,
  });
  source.setConfigMap("ns", "kube-root-ca.crt", { "ca.crt": "PEM" });
  const p = pod([apiAccess], containers);
  const dir = (await vm.setUpPod(p)).get("kube-api-access-abcde") as string;
  t.equal(read(join(dir, "ca.crt")), "PEM");
  t.equal(read(join(dir, "namespace")), "ns");
  t.match(read(join(dir, "token")), /^token-sa-\d+$/);
  t.same(source.tokenRequests.at(-1), {
    namespace: "ns",
    sa: "sa",
    opts: { audiences: [], expirationSeconds: 3607, boundPod: { name: "p", uid: "uid-1" } },
  });
  const before = read(join(dir, "token"));
  await vm.setUpPod(p);
  t.not(read(join(dir, "token")), before, "a new token from the source is written on the next sync");
  const mounts = vm.mountsFor(p, p.spec.containers[0] as Pod["spec"]["containers"][0], await vm.setUpPod(p));
  t.same(mounts, [
    { hostPath: dir, containerPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
  ]);
});

t.test("hostPath types with kube's messages", async (t) => {
  const { root, vm } = setup(t);
  const file = join(root, "f");
  writeFileSync(file, "x");
  const hp = (path: string, type?: string) =>
    vm.setUpPod(pod([{ name: "h", hostPath: { path, ...(type ? { type } : {}) } }]));
  t.equal((await hp(root, "Directory")).get("h"), root);
  t.equal((await hp(file, "File")).get("h"), file);
  t.equal((await hp(join(root, "nothing"))).get("h"), join(root, "nothing"), "no type: no check");
  await t.rejects(hp(file, "Directory"), {
    message: `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${file} is not a directory, it's a File`,
  });
  await t.rejects(hp(join(root, "missing"), "Directory"), { message: /hostPath .*missing doesn't exist$/ });
  await t.rejects(hp(root, "File"), { message: /is not a file, it's a Directory$/ });
  await t.rejects(hp(file, "Socket"), { message: /is not a socket file, it's a File$/ });
  await t.rejects(hp(file, "Bogus"), { message: /Bogus is an invalid volume type$/ });
  await hp(join(root, "made/deep"), "DirectoryOrCreate");
  t.ok(statSync(join(root, "made/deep")).isDirectory());
  await hp(join(root, "new-file"), "FileOrCreate");
  t.ok(statSync(join(root, "new-file")).isFile());
  await t.rejects(hp(join(root, "made"), "FileOrCreate"), { message: /is not a file, it's a Directory$/ });
  const sock = join(root, "s.sock");
  const server = createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  t.teardown(() => server.close());
  t.equal((await hp(sock, "Socket")).get("h"), sock);
});

t.test("mounts: subPath, subPathExpr, read-only kinds, missing volume, /etc/hosts", async (t) => {
  const { root, source, vm } = setup(t);
  source.setConfigMap("ns", "cfg", { "app.conf": "conf" });
  const containers = [
    {
      name: "c",
      image: "i",
      volumeMounts: [
        { name: "data", mountPath: "/data" },
        { name: "data", mountPath: "/logs", subPathExpr: "logs/$(POD_NAME)" },
        { name: "cfg", mountPath: "/etc/app.conf", subPath: "app.conf" },
        { name: "cfg", mountPath: "/cfg", readOnly: false },
        { name: "data", mountPath: "/ro", readOnly: true },
      ],
    },
  ];
  const p = pod(
    [
      { name: "data", emptyDir: {} },
      { name: "cfg", configMap: { name: "cfg" } },
    ],
    containers,
  );
  const vols = await vm.setUpPod(p);
  const c = p.spec.containers[0] as Pod["spec"]["containers"][0];
  const mounts = vm.mountsFor(p, c, vols, { podIPs: ["10.1.0.5"], env: [{ name: "POD_NAME", value: "p" }] });
  const data = vols.get("data") as string;
  const cfgReal = join(
    vols.get("cfg") as string,
    readlinkSync(join(vols.get("cfg") as string, "..data")),
    "app.conf",
  );
  t.same(mounts, [
    { hostPath: data, containerPath: "/data", readOnly: false },
    { hostPath: join(data, "logs/p"), containerPath: "/logs", readOnly: false },
    { hostPath: cfgReal, containerPath: "/etc/app.conf", readOnly: true },
    { hostPath: vols.get("cfg"), containerPath: "/cfg", readOnly: true },
    { hostPath: data, containerPath: "/ro", readOnly: true },
    { hostPath: join(root, "pods/uid-1/etc-hosts"), containerPath: "/etc/hosts", readOnly: false },
  ]);
  t.ok(statSync(join(data, "logs/p")).isDirectory(), "a missing subPath is made a directory");
  t.equal(
    read(join(root, "pods/uid-1/etc-hosts")),
    "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
      "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n10.1.0.5\tp\n",
  );
  t.equal(
    vm.mountsFor(p, c, vols, { env: [{ name: "POD_NAME", value: "p" }] }).length,
    5,
    "no pod IP: no /etc/hosts",
  );
  t.throws(() => vm.mountsFor(p, c, vols), {
    message: "missing value for POD_NAME",
    reason: "CreateContainerConfigError",
  });
  const bad = (m: object) => ({ name: "c", image: "i", volumeMounts: [m] }) as Pod["spec"]["containers"][0];
  t.throws(() => vm.mountsFor(p, bad({ name: "data", mountPath: "/x", subPath: "../up" }), vols), {
    message: "unable to provision SubPath `../up`: must not contain '..'",
  });
  t.throws(() => vm.mountsFor(p, bad({ name: "data", mountPath: "/x", subPath: "/abs" }), vols), {
    message: "error SubPath `/abs` must not be an absolute path",
  });
  t.throws(() => vm.mountsFor(p, bad({ name: "nope", mountPath: "/x" }), vols), {
    message: 'cannot find volume "nope" to mount into container "c"',
  });
  const own = bad({ name: "data", mountPath: "/etc/hosts", subPath: "hosts" });
  t.same(
    vm.mountsFor(p, own, vols, { podIPs: ["10.1.0.5"] }).map((m) => m.containerPath),
    ["/etc/hosts"],
    "a container mounting /etc/hosts itself keeps its own",
  );
});

t.test("hosts file: subdomain, host aliases, host network", async (t) => {
  const { root, vm } = setup(t);
  const p = pod([], undefined, {
    hostname: "h1",
    subdomain: "sub",
    hostAliases: [{ ip: "1.2.3.4", hostnames: ["a", "b"] }],
  });
  const file = vm.makeHostsFile(p, "10.0.0.9");
  t.match(
    read(file),
    /\n10\.0\.0\.9\th1\.sub\.ns\.svc\.cluster\.local\th1\n\n# Entries added by HostAliases\.\n1\.2\.3\.4\ta\tb\n$/,
  );
  const nodeHosts = join(root, "node-hosts");
  writeFileSync(nodeHosts, "127.0.0.1 localhost node\n");
  const vm2 = new DirVolumeManager({
    podsDir: join(root, "pods"),
    sources: new MemorySource(),
    nodeName: "n",
    logger: silent,
    nodeHostsFile: nodeHosts,
  });
  const hn = vm2.makeHostsFile(pod([], undefined, { hostNetwork: true }), "192.168.1.2");
  t.equal(read(hn), "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost node\n");
});
