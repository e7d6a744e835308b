"""Namespace lifecycle, quota and the objects every cluster has, through python3-kubernetes, as
kube-apiserver 1.32 with kube-controller-manager's namespace, resourcequota and serviceaccounts
controllers behaves."""
import unittest
import uuid

from skiff import ApiException, NamespacedTest, client, core, wait_for


def namespace_gone(name):
    try:
        core().read_namespace(name)
        return False
    except ApiException as e:
        return e.status == 404


def pod(name, resources=None):
    container = client.V1Container(name="c", image="busybox:1")
    if resources is not None:
        container.resources = client.V1ResourceRequirements(requests=resources)
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(containers=[container]))


class Namespaces(NamespacedTest):
    def test_dry_run_delete_deletes_nothing(self):
        v1 = core()
        v1.create_namespaced_config_map(self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="keep")))
        v1.delete_namespace(self.ns, dry_run="All")
        ns = v1.read_namespace(self.ns)
        self.assertEqual(ns.status.phase, "Active")
        self.assertIsNone(ns.metadata.deletion_timestamp)
        self.assertEqual(v1.read_namespaced_config_map("keep", self.ns).metadata.name, "keep")

    def test_default_service_account_appears(self):
        sa = wait_for("the default service account", lambda: self._find_sa())
        self.assertEqual(sa.metadata.name, "default")

    def _find_sa(self):
        try:
            return core().read_namespaced_service_account("default", self.ns)
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def test_delete_frees_node_ports(self):
        v1 = core()
        svc = client.V1Service(
            metadata=client.V1ObjectMeta(name="np"),
            spec=client.V1ServiceSpec(type="NodePort", ports=[client.V1ServicePort(port=80)]),
        )
        node_port = v1.create_namespaced_service(self.ns, svc).spec.ports[0].node_port
        v1.delete_namespace(self.ns)
        wait_for("the namespace to go", lambda: namespace_gone(self.ns))
        other = f"py-{uuid.uuid4().hex[:10]}"
        v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
        try:
            again = client.V1Service(
                metadata=client.V1ObjectMeta(name="np"),
                spec=client.V1ServiceSpec(type="NodePort", ports=[client.V1ServicePort(port=80, node_port=node_port)]),
            )
            self.assertEqual(v1.create_namespaced_service(other, again).spec.ports[0].node_port, node_port)
        finally:
            v1.delete_namespace(other)

    def test_finalizer_keeps_namespace_terminating(self):
        v1 = core()
        cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="held", finalizers=["example.com/hold"]))
        v1.create_namespaced_config_map(self.ns, cm)
        v1.delete_namespace(self.ns)

        def waiting():
            ns = v1.read_namespace(self.ns)
            conds = {c.type: c for c in (ns.status.conditions or [])}
            c = conds.get("NamespaceFinalizersRemaining")
            return ns if c is not None and c.status == "True" else None

        ns = wait_for("the finalizer condition", waiting)
        self.assertEqual(ns.status.phase, "Terminating")
        self.assertIsNotNone(ns.metadata.deletion_timestamp)
        held = v1.read_namespaced_config_map("held", self.ns)
        self.assertIsNotNone(held.metadata.deletion_timestamp)
        with self.assertRaises(ApiException) as e:
            v1.create_namespaced_config_map(self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="late")))
        self.assertEqual(e.exception.status, 403)
        v1.patch_namespaced_config_map("held", self.ns, {"metadata": {"finalizers": None}})
        wait_for("the namespace to go", lambda: namespace_gone(self.ns))

    def test_kubernetes_service(self):
        svc = core().read_namespaced_service("kubernetes", "default")
        self.assertEqual(svc.spec.cluster_ip, "10.96.0.1")
        self.assertEqual([(p.name, p.port, p.protocol) for p in svc.spec.ports], [("https", 443, "TCP")])
        eps = client.DiscoveryV1Api().read_namespaced_endpoint_slice("kubernetes", "default")
        self.assertEqual(eps.metadata.labels["kubernetes.io/service-name"], "kubernetes")
        self.assertEqual(eps.ports[0].port, svc.spec.ports[0].target_port)


class Quota(NamespacedTest):
    def used(self, name):
        return core().read_namespaced_resource_quota(name, self.ns).status.used or {}

    def test_pod_usage_released_when_succeeded(self):
        v1 = core()
        quota = client.V1ResourceQuota(
            metadata=client.V1ObjectMeta(name="q"), spec=client.V1ResourceQuotaSpec(hard={"pods": "1"})
        )
        v1.create_namespaced_resource_quota(self.ns, quota)
        v1.create_namespaced_pod(self.ns, pod("a"))
        wait_for("pods counted", lambda: self.used("q").get("pods") == "1")
        with self.assertRaises(ApiException) as e:
            v1.create_namespaced_pod(self.ns, pod("b"))
        self.assertEqual(e.exception.status, 403)
        self.assertIn("exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1", e.exception.body)
        v1.patch_namespaced_pod_status("a", self.ns, {"status": {"phase": "Succeeded"}})
        wait_for("the Succeeded pod released", lambda: self.used("q").get("pods") == "0")
        v1.create_namespaced_pod(self.ns, pod("b"))

    def test_best_effort_scope_counts_best_effort_pods_only(self):
        v1 = core()
        quota = client.V1ResourceQuota(
            metadata=client.V1ObjectMeta(name="be"),
            spec=client.V1ResourceQuotaSpec(hard={"pods": "10"}, scopes=["BestEffort"]),
        )
        v1.create_namespaced_resource_quota(self.ns, quota)
        v1.create_namespaced_pod(self.ns, pod("best-effort"))
        v1.create_namespaced_pod(self.ns, pod("burstable", {"cpu": "100m"}))
        wait_for("best-effort pods counted", lambda: self.used("be").get("pods") == "1")
        self.assertEqual(self.used("be").get("pods"), "1")


if __name__ == "__main__":
    unittest.main()
