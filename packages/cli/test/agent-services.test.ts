/**
 * Services that answer, on two nodes (the embedded agent of `skiff server` and a `skiff agent`,
 * their namespaces joined on a fabric; kube-proxy's nftables table and
 * the cluster DNS inside the node's network namespace), driven with the real kubectl: a
 * Deployment of three busybox httpd pods behind a NodePort Service with a named target port
 * answers through its ClusterIP from the node and from another pod, through its NodePort, and by
 * DNS name; a Service whose selector matches nothing refuses at once, as does a port whose
 * target port name no pod defines (with a Warning Event); scaled to 0 it refuses,
 * scaled back it answers again; ClientIP affinity keeps one backend; a pod reaches its own
 * Service (hairpin); a pod reaches the API server at https://kubernetes.default.svc with its
 * projected service account token, checking the server against its ca.crt (curl, carried in a
 * test image, since busybox's wget checks no certificate).
 */
import type { Pod } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  type AgentCluster,
  agentSkipReason,
  FABRIC_NODE_IPS,
  IMAGE,
  startAgentCluster,
} from "./fixtures/agent.js";
import { CURL_IMAGE, writeCurlImage } from "./fixtures/curl-image.js";

const skip = agentSkipReason();
if (skip !== undefined) t.comment(`skipping the Services end-to-end tests: ${skip}`);

interface ServiceView {
  spec: { clusterIP: string; ports: Array<{ name?: string; port: number; nodePort?: number }> };
}

t.test("Services on the embedded agent", { skip, timeout: 600_000 }, async (t) => {
  const c: AgentCluster = await startAgentCluster({
    images: { "curl.tar": writeCurlImage },
    secondNode: true,
  });
  const second = c.second as NonNullable<AgentCluster["second"]>;
  t.teardown(() => c.stop());
  const ok = async (args: string[], what: string) => {
    const r = await c.kubectl(args, { timeoutMs: 130_000 });
    if (r.code !== 0) throw new Error(`${what}: kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = (yaml: string) => c.kubectl(["apply", "-f", "-"], { input: yaml });
  /** One HTTP GET from inside the node's namespace: the body, or the error wget printed. */
  const fromNode = async (url: string, node: Pick<AgentCluster, "inNode"> = c) => {
    try {
      return { ok: true, out: await node.inNode(["timeout", "5", "busybox", "wget", "-qO-", url]) };
    } catch (e) {
      return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
    }
  };
  const exec = (pod: string, cmd: string[]) => c.kubectl(["exec", pod, "--", ...cmd], { timeoutMs: 30_000 });

  const web = await apply(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${IMAGE}
        command: [sh, -c, "mkdir -p /www && echo $POD_NAME > /www/index.html && exec httpd -f -p 8080 -h /www"]
        env: [{ name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }]
        ports: [{ name: http, containerPort: 8080 }]
        readinessProbe: { tcpSocket: { port: http }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: nothing, namespace: default }
spec:
  selector: { app: no-such-pod }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: default }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - { name: client, image: ${CURL_IMAGE}, command: [sleep, "3600"] }
`);
  t.equal(web.code, 0, web.stderr);
  await ok(["rollout", "status", "deployment/web", "--timeout=120s"], "rollout");
  await ok(["wait", "--for=condition=Ready", "pod/client", "--timeout=120s"], "client ready");
  const svc = (await c.client.resource("v1", "services", "default").get("web")) as unknown as ServiceView;
  const clusterIP = svc.spec.clusterIP;
  const nodePort = svc.spec.ports[0]?.nodePort as number;
  const nothingIP = (
    (await c.client.resource("v1", "services", "default").get("nothing")) as unknown as ServiceView
  ).spec.clusterIP;
  const webPods = (await c.client.resource<Pod>("v1", "pods", "default").list({ labelSelector: "app=web" }))
    .items;
  const names = new Set(webPods.map((p) => p.metadata.name));
  t.equal(names.size, 3);

  await t.test("the ClusterIP answers six times in a row from the node's namespace", async (t) => {
    // The rules are live once the first request answers; from then on every one must.
    await waitFor(async () => (await fromNode(`http://${clusterIP}/`)).ok, {
      what: "the ClusterIP answers",
      timeoutMs: 30_000,
    });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await fromNode(`http://${clusterIP}/`);
      t.ok(r.ok, `request ${i + 1}: ${r.out}`);
      seen.add(r.out.trim());
    }
    for (const s of seen) t.ok(names.has(s), `answered by a web pod (${s})`);
  });

  await t.test("from another pod: by ClusterIP and by DNS name (the kube-dns Service)", async (t) => {
    for (const url of [`http://${clusterIP}/`, "http://web.default.svc.cluster.local/", "http://web/"]) {
      for (let i = 0; i < 6; i++) {
        const r = await exec("client", ["curl", "-sS", "--max-time", "5", url]);
        t.equal(r.code, 0, `${url} #${i + 1}: ${r.stderr}`);
        t.ok(names.has(r.stdout.trim()), `${url} answered by a web pod: ${JSON.stringify(r.stdout)}`);
      }
    }
    const srv = await exec("client", ["nslookup", "-type=SRV", "_http._tcp.web.default.svc.cluster.local"]);
    t.match(srv.stdout, /80 web\.default\.svc\.cluster\.local/, `SRV for the named port: ${srv.stdout}`);
    const resolv = await exec("client", ["cat", "/etc/resolv.conf"]);
    t.match(resolv.stdout, /^nameserver 10\.96\.0\.10$/m);
    t.match(resolv.stdout, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/m);
    t.match(resolv.stdout, /^options ndots:5$/m);
  });

  await t.test("the ClusterIP from the second node, whose pods are there too", async (t) => {
    const onSecond = webPods.filter((p) => p.spec?.nodeName === second.nodeName).length;
    t.comment(`${onSecond} of 3 web pods on the second node`);
    for (let i = 0; i < 6; i++) {
      const r = await fromNode(`http://${clusterIP}/`, second);
      t.ok(r.ok && names.has(r.out.trim()), `request ${i + 1} from ${second.nodeName}: ${r.out}`);
    }
  });

  await t.test("through the NodePort from the other node, both ways", async (t) => {
    const [first, other] = FABRIC_NODE_IPS;
    for (let i = 0; i < 3; i++) {
      const a = await fromNode(`http://${first}:${nodePort}/`, second);
      t.ok(a.ok && names.has(a.out.trim()), `second node -> ${first}:${nodePort}: ${a.out}`);
      const b = await fromNode(`http://${other}:${nodePort}/`);
      t.ok(b.ok && names.has(b.out.trim()), `first node -> ${other}:${nodePort}: ${b.out}`);
    }
    const fromPod = await exec("client", ["curl", "-sS", "--max-time", "5", `http://${other}:${nodePort}/`]);
    t.equal(fromPod.code, 0, fromPod.stderr);
  });

  await t.test("a selector that matches nothing refuses at once", async (t) => {
    const r = await fromNode(`http://${nothingIP}/`);
    t.notOk(r.ok);
    t.match(r.out, /refused/i, "from the node: connection refused (REJECT), not a timeout");
    const p = await exec("client", ["curl", "-sS", "--max-time", "5", `http://${nothingIP}/`]);
    // curl 7.88 says "Couldn't connect to server" for ECONNREFUSED (a timeout would be code 28).
    t.equal(p.code, 7, `from a pod: curl could not connect (refused): ${p.stderr}`);
  });

  await t.test("a targetPort name no pod defines: refused, and a Warning Event", async (t) => {
    const typo = await apply(`
apiVersion: v1
kind: Service
metadata: { name: typo, namespace: default }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: htp }]
`);
    t.equal(typo.code, 0, typo.stderr);
    const ip = ((await c.client.resource("v1", "services", "default").get("typo")) as unknown as ServiceView)
      .spec.clusterIP;
    const event = await waitFor(
      async () => {
        const r = await c.kubectl([
          "get",
          "events",
          "--field-selector",
          "involvedObject.name=typo",
          "-o",
          "json",
        ]);
        const items = (JSON.parse(r.stdout || "{}") as { items?: Array<{ reason: string; message: string }> })
          .items;
        return items?.find((e) => e.reason === "FailedToResolveTargetPort");
      },
      { what: "the FailedToResolveTargetPort event", timeoutMs: 30_000 },
    );
    t.match(event.message, /"htp"/);
    await waitFor(async () => /refused/i.test((await fromNode(`http://${ip}/`)).out), {
      what: "the port without endpoints refuses",
      timeoutMs: 10_000,
    });
    t.pass("refused");
  });

  await t.test("session affinity ClientIP keeps one backend", async (t) => {
    await ok(
      ["patch", "service", "web", "-p", '{"spec":{"sessionAffinity":"ClientIP"}}'],
      "patch sessionAffinity",
    );
    // The first answer after the patch pins the client; wait until the rules carry the affinity.
    await waitFor(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          const r = await exec("client", ["curl", "-sS", "--max-time", "5", `http://${clusterIP}/`]);
          if (r.code !== 0) return false;
          seen.add(r.stdout.trim());
        }
        return seen.size === 1;
      },
      { what: "six answers from one backend", timeoutMs: 30_000 },
    );
    t.pass("six requests in a row, one backend");
    await ok(["patch", "service", "web", "-p", '{"spec":{"sessionAffinity":"None"}}'], "affinity off");
  });

  await t.test("hairpin: a pod reaches its own Service and may land on itself", async (t) => {
    const pod = [...names][0] as string;
    let self = 0;
    for (let i = 0; i < 24 && self === 0; i++) {
      const r = await exec(pod, ["timeout", "5", "wget", "-qO-", `http://${clusterIP}/`]);
      t.equal(r.code, 0, `request ${i + 1}: ${r.stderr}`);
      if (r.stdout.trim() === pod) self++;
    }
    t.ok(self > 0, "one request came back to the pod that sent it");
  });

  await t.test(
    "the API server at https://kubernetes.default.svc, as the pod's service account",
    async (t) => {
      const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
      const r = await exec("client", [
        "sh",
        "-c",
        `curl -sS --max-time 10 --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" https://kubernetes.default.svc/api/v1/namespaces/default/pods/client`,
      ]);
      t.equal(r.code, 0, r.stderr);
      const pod = JSON.parse(r.stdout) as Pod;
      t.equal(pod.metadata.name, "client", "the API answered the pod with its own object");
      // Who the API server took the pod for (kubectl auth whoami's SelfSubjectReview).
      const who = await exec("client", [
        "sh",
        "-c",
        `curl -sS --max-time 10 --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" -H "Content-Type: application/json" -d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' https://kubernetes.default.svc/apis/authentication.k8s.io/v1/selfsubjectreviews`,
      ]);
      t.equal(who.code, 0, who.stderr);
      t.equal(
        (JSON.parse(who.stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username,
        "system:serviceaccount:default:default",
      );
      const anon = await exec("client", [
        "curl",
        "-sS",
        "--max-time",
        "10",
        "--cacert",
        `${sa}/ca.crt`,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "https://kubernetes.default.svc/api/v1/namespaces/default/pods",
      ]);
      t.equal(anon.stdout, "401", "without the token the request is not authenticated");
    },
  );

  await t.test("scaled to 0 it refuses; scaled back it answers again", async (t) => {
    await ok(["scale", "deployment/web", "--replicas=0"], "scale to 0");
    await waitFor(async () => /refused/i.test((await fromNode(`http://${clusterIP}/`)).out), {
      what: "connection refused with no endpoints",
      timeoutMs: 60_000,
    });
    t.pass("refused with no endpoints");
    await ok(["scale", "deployment/web", "--replicas=3"], "scale to 3");
    await ok(["rollout", "status", "deployment/web", "--timeout=120s"], "rollout back");
    // Answers once an endpoint is ready; the time from ready to answering is kube-proxy's sync
    // (measured, not asserted: docs/benchmarks.md has the programming latency figures).
    const readyAt = Date.now();
    await waitFor(async () => (await fromNode(`http://${clusterIP}/`)).ok, {
      what: "the ClusterIP answers again",
      timeoutMs: 10_000,
    });
    t.pass("answers again");
    t.comment(`answered ${Date.now() - readyAt} ms after kubectl saw the rollout complete`);
  });
});
