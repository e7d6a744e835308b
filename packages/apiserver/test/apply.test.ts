/**
 * Server-side apply and managedFields, in process (fastify.inject) on the embedded store, then
 * with the real kubectl 1.32 (`apply --server-side`, conflicts, `--force-conflicts`, `diff`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import t from "tap";
import { stringify } from "yaml";
import { authenticator } from "../src/auth.js";
import { startServer } from "../src/main.js";
import { createApiServer } from "../src/server.js";
import { embeddedBackend } from "./backends.js";
import { kubectlRunner, kubectlSkip } from "./kubectl-runner.js";

const TOKEN = "test-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const applyType = { ...auth, "content-type": "application/apply-patch+yaml" };
const DEPLOYS = "/apis/apps/v1/namespaces/default/deployments";

const deployment = (
  name: string,
  spec: Record<string, unknown> = {},
  labels: Record<string, string> = {},
) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name, ...labels } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "c", image: "nginx:1.25", ports: [{ containerPort: 80 }] }] },
    },
    ...spec,
  },
});

type Entry = {
  manager: string;
  operation: string;
  apiVersion: string;
  fieldsV1: Record<string, unknown>;
  subresource?: string;
  time?: string;
};

t.test("in process", async (t) => {
  const backend = await embeddedBackend();
  const server = await createApiServer({
    kv: backend.kv?.() as never,
    authenticate: authenticator(new Map([[TOKEN, { name: "admin", groups: ["system:masters"] }]])),
  });
  t.teardown(async () => {
    await server.close();
    await backend.stop();
  });
  const app = server.app;
  const applyAs = (name: string, body: unknown, manager?: string, extra = "", headers = {}) =>
    app.inject({
      method: "PATCH",
      url: `${DEPLOYS}/${name}?${manager === undefined ? "" : `fieldManager=${manager}`}${extra}`,
      headers: { ...applyType, ...headers },
      payload: typeof body === "string" ? body : stringify(body),
    });
  const get = async (name: string) => (await app.inject({ url: `${DEPLOYS}/${name}`, headers: auth })).json();
  const entries = (obj: { metadata: { managedFields?: Entry[] } }) => obj.metadata.managedFields ?? [];

  t.test("fieldManager is required", async (t) => {
    const r = await applyAs("web", deployment("web"));
    t.equal(r.statusCode, 422);
    t.equal(
      r.json().message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    const long = await applyAs("web", deployment("web"), "x".repeat(129));
    t.equal(long.statusCode, 422);
    t.match(long.json().message, /fieldManager: Too long/);
  });

  t.test("a keyed list item without its key is a 400", async (t) => {
    const bad = deployment("nokey");
    (bad.spec.template.spec.containers[0] as { name?: string }).name = undefined;
    const r = await applyAs("nokey", JSON.stringify(bad), "alice");
    t.equal(r.statusCode, 400);
    t.equal(
      r.json().message,
      'failed to create typed patch object (default/nokey; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
    );
  });

  t.test("apply creates, then owns exactly what it set", async (t) => {
    const r = await applyAs("web", deployment("web"), "alice");
    t.equal(r.statusCode, 201, "status code", { body: r.body });
    const d = r.json();
    t.equal(d.spec.replicas, 2);
    t.equal(d.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent", "defaults as a create");
    const [e, ...rest] = entries(d);
    t.equal(rest.length, 0, "one entry");
    t.equal(e?.manager, "alice");
    t.equal(e?.operation, "Apply");
    t.equal(e?.apiVersion, "apps/v1");
    t.match(e?.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const spec = ((e as Entry).fieldsV1 as Record<string, Record<string, Record<string, unknown>>>)["f:spec"];
    t.same(spec?.["f:replicas"], {});
    const c = ((spec as never)["f:template"] as never)["f:spec"]["f:containers"]['k:{"name":"c"}'];
    t.same(c["."], {}, "the container item itself");
    t.ok(
      c["f:ports"]['k:{"containerPort":80,"protocol":"TCP"}'],
      "ports keyed by containerPort and protocol",
    );
    t.notOk(c["f:imagePullPolicy"], "defaults are not the applier's");
  });

  t.test("applying the same configuration again changes nothing", async (t) => {
    const before = await get("web");
    const r = await applyAs("web", deployment("web"), "alice");
    t.equal(r.statusCode, 200);
    t.same(r.json().metadata.managedFields, before.metadata.managedFields, "same managedFields, same times");
    t.same(r.json().spec, before.spec);
  });

  t.test("a field dropped from the configuration is removed", async (t) => {
    const r = await applyAs("web", deployment("web", {}, { tier: "web" }), "alice");
    t.equal(r.json().metadata.labels.tier, "web");
    const dropped = await applyAs("web", deployment("web"), "alice");
    t.equal(dropped.statusCode, 200);
    t.equal(dropped.json().metadata.labels.tier, undefined, "label removed");
    t.equal(dropped.json().metadata.labels.app, "web");
  });

  t.test("a field another manager also owns is kept", async (t) => {
    await applyAs("web", deployment("web", {}, { shared: "yes" }), "alice");
    const bob = await applyAs(
      "web",
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", labels: { shared: "yes" } } },
      "bob",
    );
    t.equal(bob.statusCode, 200, "status code", { body: bob.body });
    const after = await applyAs("web", deployment("web"), "alice");
    t.equal(after.json().metadata.labels.shared, "yes", "bob still owns it");
  });

  t.test("an update takes the fields it changes, and conflicts with an applier", async (t) => {
    const d = await get("web");
    d.spec.replicas = 5;
    const put = await app.inject({
      method: "PUT",
      url: `${DEPLOYS}/web`,
      headers: {
        ...auth,
        "content-type": "application/json",
        "user-agent": "kubectl-edit/v1.32.0 (linux/amd64)",
      },
      payload: d,
    });
    t.equal(put.statusCode, 200, "status code", { body: put.body });
    const edit = entries(put.json()).find((e) => e.manager === "kubectl-edit");
    t.equal(edit?.operation, "Update");
    t.same(
      edit?.fieldsV1,
      { "f:spec": { "f:replicas": {} } },
      "the user agent's first segment, the field it changed",
    );
    const alice = entries(put.json()).find((e) => e.manager === "alice") as Entry;
    t.notOk((alice.fieldsV1["f:spec"] as Record<string, unknown>)["f:replicas"], "alice lost replicas");

    const r = await applyAs("web", deployment("web", { replicas: 3 }), "alice");
    t.equal(r.statusCode, 409);
    const s = r.json();
    t.equal(s.reason, "Conflict");
    t.equal(
      s.message,
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
    );
    t.same(s.details.causes, [
      {
        reason: "FieldManagerConflict",
        message: 'conflict with "kubectl-edit" using apps/v1',
        field: ".spec.replicas",
      },
    ]);

    const forced = await applyAs("web", deployment("web", { replicas: 3 }), "alice", "&force=true");
    t.equal(forced.statusCode, 200, "status code", { body: forced.body });
    t.equal(forced.json().spec.replicas, 3);
    t.notOk(
      entries(forced.json()).some((e) => e.manager === "kubectl-edit"),
      "kubectl-edit owned nothing else and is gone",
    );
  });

  t.test("managedFields after create, patch and status", async (t) => {
    const created = await app.inject({
      method: "POST",
      url: "/api/v1/namespaces/default/configmaps",
      headers: { ...auth, "content-type": "application/json", "user-agent": "kubectl-create/v1.32.0" },
      payload: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "cm", labels: { a: "1" } },
        data: { k: "v" },
      },
    });
    t.equal(created.statusCode, 201);
    t.same(
      entries(created.json()).map(({ time: _t, ...e }) => e),
      [
        {
          manager: "kubectl-create",
          operation: "Update",
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:data": { ".": {}, "f:k": {} },
            "f:metadata": { "f:labels": { ".": {}, "f:a": {} } },
          },
        },
      ],
    );
    const patched = await app.inject({
      method: "PATCH",
      url: "/api/v1/namespaces/default/configmaps/cm?fieldManager=patcher",
      headers: { ...auth, "content-type": "application/merge-patch+json" },
      payload: { data: { k2: "v2" } },
    });
    const p = entries(patched.json()).find((e) => e.manager === "patcher");
    t.same(p?.fieldsV1, { "f:data": { "f:k2": {} } });
    const noop = await app.inject({
      method: "PATCH",
      url: "/api/v1/namespaces/default/configmaps/cm?fieldManager=patcher",
      headers: { ...auth, "content-type": "application/merge-patch+json" },
      payload: { data: { k2: "v2" } },
    });
    t.same(
      noop.json().metadata.managedFields,
      patched.json().metadata.managedFields,
      "a no-op keeps the times",
    );
    const forceMerge = await app.inject({
      method: "PATCH",
      url: "/api/v1/namespaces/default/configmaps/cm?force=true",
      headers: { ...auth, "content-type": "application/merge-patch+json" },
      payload: { data: { k3: "v" } },
    });
    t.equal(forceMerge.statusCode, 422);
    t.equal(
      forceMerge.json().message,
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
    const reset = await app.inject({
      method: "PATCH",
      url: "/api/v1/namespaces/default/configmaps/cm",
      headers: { ...auth, "content-type": "application/merge-patch+json" },
      payload: { metadata: { managedFields: [] } },
    });
    t.equal(reset.json().metadata.managedFields, undefined, "[] resets");
    const bad = await app.inject({
      method: "PATCH",
      url: "/api/v1/namespaces/default/configmaps/cm",
      headers: { ...auth, "content-type": "application/merge-patch+json" },
      payload: { metadata: { managedFields: [{ manager: "m", operation: "Delete" }] } },
    });
    t.equal(bad.statusCode, 422);
    t.match(
      bad.json().message,
      /metadata\.managedFields\[0\]\.operation: Invalid value: "Delete": must be `Apply` or `Update`/,
    );

    const d = await get("web");
    const st = await app.inject({
      method: "PATCH",
      url: `${DEPLOYS}/web/status?fieldManager=ctrl`,
      headers: { ...auth, "content-type": "application/merge-patch+json" },
      payload: { status: { observedGeneration: 1 } },
    });
    t.equal(st.statusCode, 200, "status code", { body: st.body });
    const s = entries(st.json()).find((e) => e.manager === "ctrl");
    t.equal(s?.subresource, "status");
    t.same(s?.fieldsV1, { "f:status": { "f:observedGeneration": {} } });
    t.equal(entries(st.json()).length, entries(d).length + 1);
  });

  t.test("property: apply twice is a no-op; get returns what was applied", async (t) => {
    const labelKey = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(labelKey, fc.stringMatching(/^[a-z0-9]{0,8}$/), { maxKeys: 4 }),
        fc.integer({ min: 0, max: 20 }),
        fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), { minLength: 1, maxLength: 3 }),
        async (labels, replicas, names) => {
          const config = deployment(
            "prop",
            {
              replicas,
              template: {
                metadata: { labels: { app: "prop" } },
                spec: { containers: names.map((n) => ({ name: n, image: `img-${n}` })) },
              },
            },
            labels,
          );
          const first = await applyAs("prop", config, "prop-manager");
          if (first.statusCode >= 300) throw new Error(first.body);
          const got = await get("prop");
          const second = await applyAs("prop", config, "prop-manager");
          if (second.statusCode !== 200) throw new Error(second.body);
          const again = second.json();
          if (JSON.stringify(again.spec) !== JSON.stringify(got.spec))
            throw new Error("second apply changed spec");
          if (JSON.stringify(again.metadata.managedFields) !== JSON.stringify(got.metadata.managedFields))
            throw new Error("second apply changed managedFields");
          if (again.spec.replicas !== replicas) throw new Error("replicas not applied");
          // Maps compare as maps: key order is not part of the answer (kube sorts keys, Skiff keeps them).
          const sorted = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
          if (sorted(again.metadata.labels) !== sorted({ app: "prop", ...labels }))
            throw new Error(`labels ${JSON.stringify(again.metadata.labels)}`);
          const containers = again.spec.template.spec.containers.map((c: { name: string }) => c.name);
          if (JSON.stringify(containers) !== JSON.stringify(names))
            throw new Error(`containers ${containers}`);
        },
      ),
      { numRuns: 25 },
    );
    t.pass("25 runs");
  });
});

t.test("kubectl apply --server-side", { skip: kubectlSkip() }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-ssa-"));
  const kubeconfig = join(dir, "kubeconfig");
  mkdirSync(join(dir, "home"));
  const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: join(dir, "home") };
  const server = await startServer(
    [
      "--data-dir",
      join(dir, "data"),
      "--bind-address",
      "127.0.0.1",
      "--secure-port",
      "0",
      "--write-kubeconfig",
      kubeconfig,
    ],
    () => {},
  );
  t.teardown(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const kubectl = kubectlRunner({ kubeconfig, home: env.HOME as string, cacheDir: join(dir, "cache") });
  const file = (name: string, obj: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, stringify(obj));
    return path;
  };
  const web = file("web.yaml", deployment("web"));
  const created = await kubectl(["apply", "--server-side", "-f", web]);
  t.equal(created.code, 0, "apply --server-side", { stderr: created.stderr });
  t.equal(created.stdout, "deployment.apps/web serverside-applied\n");
  const got = JSON.parse(
    (await kubectl(["get", "deploy", "web", "-o", "json", "--show-managed-fields"])).stdout,
  );
  t.same(
    got.metadata.managedFields.map((e: Entry) => [e.manager, e.operation]),
    [["kubectl", "Apply"]],
    "kubectl's default field manager",
  );

  const other = file("web-other.yaml", deployment("web", { replicas: 4 }));
  const conflict = await kubectl(["apply", "--server-side", "--field-manager", "other", "-f", other]);
  t.not(conflict.code, 0, "a conflicting apply fails");
  t.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.replicas/);
  const forced = await kubectl([
    "apply",
    "--server-side",
    "--field-manager",
    "other",
    "--force-conflicts",
    "-f",
    other,
  ]);
  t.equal(forced.code, 0, "--force-conflicts", { stderr: forced.stderr });
  const after = JSON.parse(
    (await kubectl(["get", "deploy", "web", "-o", "json", "--show-managed-fields"])).stdout,
  );
  t.equal(after.spec.replicas, 4);
  const owner = after.metadata.managedFields.find((e: Entry) => e.manager === "other");
  t.same(
    (owner.fieldsV1 as Record<string, Record<string, unknown>>)["f:spec"]?.["f:replicas"],
    {},
    "other owns replicas",
  );

  // An object made by client-side apply: its fields belong to kubectl-client-side-apply.
  const csa = file("csa.yaml", deployment("csa"));
  t.equal((await kubectl(["apply", "-f", csa])).code, 0, "client-side apply");
  const same = await kubectl(["apply", "--server-side", "-f", csa]);
  t.equal(same.code, 0, "server-side apply of the same values shares the fields", { stderr: same.stderr });
  const migrated = JSON.parse(
    (await kubectl(["get", "deploy", "csa", "-o", "json", "--show-managed-fields"])).stdout,
  );
  // Both are Apply entries, ordered by their time (seconds) as kube orders them: whether the two
  // applies fell in the same second decides the order, so compare them as a set.
  t.same(
    migrated.metadata.managedFields.map((e: Entry) => [e.manager, e.operation]).sort(),
    [
      ["kubectl", "Apply"],
      ["kubectl-last-applied", "Apply"],
    ],
    "kubectl moved kubectl-client-side-apply's fields to its own Apply entry; the annotation has its own",
  );
  const three = await kubectl([
    "apply",
    "--server-side",
    "-f",
    file("csa-3.yaml", deployment("csa", { replicas: 3 })),
  ]);
  t.equal(three.code, 0, "and applies on", { stderr: three.stderr });
  const synced = JSON.parse((await kubectl(["get", "deploy", "csa", "-o", "json"])).stdout);
  const last = JSON.parse(synced.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);
  t.equal(last.spec.replicas, 3, "the client-side apply annotation follows kubectl's server-side apply");
  const back = await kubectl(["apply", "-f", file("csa-4.yaml", deployment("csa", { replicas: 4 }))]);
  t.equal(back.code, 0, "client-side apply again", { stderr: back.stderr });
  const four = JSON.parse((await kubectl(["get", "deploy", "csa", "-o", "json"])).stdout);
  t.equal(four.spec.replicas, 4);
  const plain = await kubectl(["diff", "-f", file("csa-4b.yaml", deployment("csa", { replicas: 4 }))]);
  t.equal(plain.code, 0, "kubectl diff (client-side apply's patch) after that apply shows nothing", {
    stdout: plain.stdout,
    stderr: plain.stderr,
  });
  t.equal(plain.stdout, "");
  const diff = await kubectl(["diff", "--server-side", "--field-manager", "other", "-f", other]);
  t.equal(diff.code, 0, "kubectl diff after an apply shows nothing", {
    stdout: diff.stdout,
    stderr: diff.stderr,
  });
  t.equal(diff.stdout, "");
});
