"""The kinds the scheduler and kubelet list at start, through python3-kubernetes 22.6: create,
read and list each one, as against kube-apiserver 1.32. Client 22.6 predates autoscaling/v2 and
storage.k8s.io/v1 CSIStorageCapacity: those go through ApiClient.call_api with the v2beta2 and
v1beta1 models, whose fields are the same."""
import base64
import datetime
import unittest
import uuid

from skiff import ApiException, NamespacedTest, api, client, core

CSR_PEM = base64.b64encode(
    b"-----BEGIN CERTIFICATE REQUEST-----\n"
    b"MIIBADCBpwIBADAPMQ0wCwYDVQQDDARub2RlMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
    b"-----END CERTIFICATE REQUEST-----\n"
).decode()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def meta(name):
    return client.V1ObjectMeta(name=name)


class ClusterScoped(unittest.TestCase):
    def test_priority_classes(self):
        s = client.SchedulingV1Api()
        names = [p.metadata.name for p in s.list_priority_class().items]
        self.assertIn("system-cluster-critical", names)
        self.assertIn("system-node-critical", names)
        self.assertEqual(s.read_priority_class("system-node-critical").value, 2000001000)
        name = unique("pc")
        made = s.create_priority_class(client.V1PriorityClass(metadata=meta(name), value=100))
        self.assertEqual(made.preemption_policy, "PreemptLowerPriority")
        self.assertEqual(s.read_priority_class(name).value, 100)
        s.delete_priority_class(name)
        with self.assertRaises(ApiException) as e:
            s.delete_priority_class("system-cluster-critical")
        self.assertEqual(e.exception.status, 403)
        with self.assertRaises(ApiException) as e:
            s.create_priority_class(client.V1PriorityClass(metadata=meta(unique("system")), value=1))
        self.assertEqual(e.exception.status, 422)

    def test_storage_classes_csi_nodes_and_drivers(self):
        st = client.StorageV1Api()
        sc = unique("sc")
        made = st.create_storage_class(client.V1StorageClass(metadata=meta(sc), provisioner="example.com/p"))
        self.assertEqual((made.reclaim_policy, made.volume_binding_mode), ("Delete", "Immediate"))
        self.assertIn(sc, [i.metadata.name for i in st.list_storage_class().items])
        node = unique("node")
        st.create_csi_node(
            client.V1CSINode(
                metadata=meta(node),
                spec=client.V1CSINodeSpec(drivers=[client.V1CSINodeDriver(name="example.com", node_id="n1")]),
            )
        )
        self.assertEqual(st.read_csi_node(node).spec.drivers[0].node_id, "n1")
        self.assertIn(node, [i.metadata.name for i in st.list_csi_node().items])
        drv = unique("drv") + ".example.com"
        made = st.create_csi_driver(client.V1CSIDriver(metadata=meta(drv), spec=client.V1CSIDriverSpec()))
        self.assertTrue(made.spec.attach_required)
        self.assertEqual(made.spec.volume_lifecycle_modes, ["Persistent"])
        self.assertIn(drv, [i.metadata.name for i in st.list_csi_driver().items])
        for delete, name in ((st.delete_storage_class, sc), (st.delete_csi_node, node), (st.delete_csi_driver, drv)):
            delete(name)

    def test_runtime_classes(self):
        n = client.NodeV1Api()
        name = unique("rc")
        n.create_runtime_class(client.V1RuntimeClass(metadata=meta(name), handler="runsc"))
        self.assertEqual(n.read_runtime_class(name).handler, "runsc")
        self.assertIn(name, [i.metadata.name for i in n.list_runtime_class().items])
        with self.assertRaises(ApiException) as e:
            n.create_runtime_class(client.V1RuntimeClass(metadata=meta(unique("rc")), handler="Bad_Handler"))
        self.assertEqual(e.exception.status, 422)
        n.delete_runtime_class(name)

    def test_persistent_volumes(self):
        v1 = core()
        name = unique("pv")
        made = v1.create_persistent_volume(
            client.V1PersistentVolume(
                metadata=meta(name),
                spec=client.V1PersistentVolumeSpec(
                    capacity={"storage": "1Gi"},
                    access_modes=["ReadWriteOnce"],
                    host_path=client.V1HostPathVolumeSource(path="/tmp/pv"),
                ),
            )
        )
        self.assertEqual(made.spec.persistent_volume_reclaim_policy, "Retain")
        self.assertEqual(made.status.phase, "Pending")
        made.status.phase = "Available"
        self.assertEqual(v1.replace_persistent_volume_status(name, made).status.phase, "Available")
        self.assertEqual(v1.read_persistent_volume(name).spec.capacity, {"storage": "1Gi"})
        self.assertIn(name, [i.metadata.name for i in v1.list_persistent_volume().items])
        v1.delete_persistent_volume(name)

    def test_certificate_signing_requests(self):
        c = client.CertificatesV1Api()
        name = unique("csr")
        c.create_certificate_signing_request(
            client.V1CertificateSigningRequest(
                metadata=meta(name),
                spec=client.V1CertificateSigningRequestSpec(
                    request=CSR_PEM, signer_name="kubernetes.io/kube-apiserver-client", usages=["client auth"]
                ),
            )
        )
        got = c.read_certificate_signing_request(name)
        self.assertEqual(got.spec.signer_name, "kubernetes.io/kube-apiserver-client")
        got.status = client.V1CertificateSigningRequestStatus(
            conditions=[client.V1CertificateSigningRequestCondition(type="Approved", status="True", reason="Py")]
        )
        approved = c.replace_certificate_signing_request_approval(name, got)
        self.assertEqual(approved.status.conditions[0].type, "Approved")
        self.assertIn(name, [i.metadata.name for i in c.list_certificate_signing_request().items])
        c.delete_certificate_signing_request(name)


class Namespaced(NamespacedTest):
    def test_persistent_volume_claims(self):
        v1 = core()
        v1.create_namespaced_persistent_volume_claim(
            self.ns,
            client.V1PersistentVolumeClaim(
                metadata=meta("data"),
                spec=client.V1PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"], resources=client.V1ResourceRequirements(requests={"storage": "1Gi"})
                ),
            ),
        )
        got = v1.read_namespaced_persistent_volume_claim("data", self.ns)
        self.assertEqual((got.status.phase, got.spec.volume_mode), ("Pending", "Filesystem"))
        self.assertEqual([i.metadata.name for i in v1.list_namespaced_persistent_volume_claim(self.ns).items], ["data"])
        with self.assertRaises(ApiException) as e:
            v1.create_namespaced_persistent_volume_claim(
                self.ns, client.V1PersistentVolumeClaim(metadata=meta("bad"), spec=client.V1PersistentVolumeClaimSpec())
            )
        self.assertEqual(e.exception.status, 422)
        self.assertIn("spec.accessModes: Required value", e.exception.body)

    def test_events_both_group_versions(self):
        ev = client.EventsV1Api()
        now = datetime.datetime.now(datetime.timezone.utc)
        ev.create_namespaced_event(
            self.ns,
            client.EventsV1Event(
                metadata=meta("e1"),
                event_time=now,
                reporting_controller="example.com/py",
                reporting_instance="py-1",
                action="Test",
                reason="Tested",
                type="Normal",
                note="from events.k8s.io",
                regarding=client.V1ObjectReference(kind="Pod", name="p", namespace=self.ns),
            ),
        )
        as_core = core().read_namespaced_event("e1", self.ns)
        self.assertEqual(as_core.message, "from events.k8s.io")
        self.assertEqual(as_core.involved_object.name, "p")
        self.assertEqual(as_core.reporting_component, "example.com/py")
        # With an eventTime: the 22.6 model refuses the null eventTime kube-apiserver returns for
        # core/v1 Events that have none.
        core().create_namespaced_event(
            self.ns,
            client.CoreV1Event(
                metadata=meta("e2"),
                involved_object=client.V1ObjectReference(kind="Pod", name="q", namespace=self.ns),
                event_time=now,
                reporting_component="example.com/py",
                reporting_instance="py-1",
                action="Test",
                reason="Old",
                message="from core/v1",
                type="Warning",
                count=4,
            ),
        )
        as_new = ev.read_namespaced_event("e2", self.ns)
        self.assertEqual((as_new.note, as_new.regarding.name, as_new.deprecated_count), ("from core/v1", "q", 4))
        self.assertEqual(sorted(e.metadata.name for e in ev.list_namespaced_event(self.ns).items), ["e1", "e2"])

    def test_controller_revisions(self):
        apps = client.AppsV1Api()
        apps.create_namespaced_controller_revision(
            self.ns, client.V1ControllerRevision(metadata=meta("r1"), data={"spec": {"x": 1}}, revision=3)
        )
        self.assertEqual(apps.read_namespaced_controller_revision("r1", self.ns).revision, 3)
        self.assertEqual([r.metadata.name for r in apps.list_namespaced_controller_revision(self.ns).items], ["r1"])

    def test_horizontal_pod_autoscalers_v2(self):
        c = api()
        path = f"/apis/autoscaling/v2/namespaces/{self.ns}/horizontalpodautoscalers"
        body = {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 4},
        }
        call = dict(auth_settings=["BearerToken"], _return_http_data_only=True, header_params={"Content-Type": "application/json", "Accept": "application/json"})
        # As plain objects: the 22.6 v2beta2 model insists on status.conditions, which a new HPA lacks.
        made = c.call_api(path, "POST", body=body, response_type="object", **call)
        self.assertEqual(made["spec"]["minReplicas"], 1)
        self.assertEqual(made["spec"]["metrics"][0]["resource"]["name"], "cpu")
        self.assertEqual(made["status"], {"desiredReplicas": 0})
        got = c.call_api(f"{path}/web", "GET", response_type="object", **call)
        self.assertEqual(got["spec"]["maxReplicas"], 4)
        listed = c.call_api(path, "GET", response_type="object", **call)
        self.assertEqual([h["metadata"]["name"] for h in listed["items"]], ["web"])

    def test_horizontal_pod_autoscalers_v1(self):
        a = client.AutoscalingV1Api()
        a.create_namespaced_horizontal_pod_autoscaler(
            self.ns,
            client.V1HorizontalPodAutoscaler(
                metadata=meta("api"),
                spec=client.V1HorizontalPodAutoscalerSpec(
                    scale_target_ref=client.V1CrossVersionObjectReference(api_version="apps/v1", kind="Deployment", name="api"),
                    max_replicas=3,
                    target_cpu_utilization_percentage=50,
                ),
            ),
        )
        got = a.read_namespaced_horizontal_pod_autoscaler("api", self.ns)
        self.assertEqual((got.spec.min_replicas, got.spec.target_cpu_utilization_percentage), (1, 50))
        self.assertEqual([h.metadata.name for h in a.list_namespaced_horizontal_pod_autoscaler(self.ns).items], ["api"])

    def test_csi_storage_capacities(self):
        c = api()
        path = f"/apis/storage.k8s.io/v1/namespaces/{self.ns}/csistoragecapacities"
        body = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIStorageCapacity", "metadata": {"name": "cap"}, "storageClassName": "fast", "capacity": "5Gi"}
        call = dict(auth_settings=["BearerToken"], _return_http_data_only=True, header_params={"Content-Type": "application/json", "Accept": "application/json"})
        c.call_api(path, "POST", body=body, response_type="V1beta1CSIStorageCapacity", **call)
        got = c.call_api(f"{path}/cap", "GET", response_type="V1beta1CSIStorageCapacity", **call)
        self.assertEqual((got.storage_class_name, got.capacity), ("fast", "5Gi"))
        listed = c.call_api(path, "GET", response_type="V1beta1CSIStorageCapacityList", **call)
        self.assertEqual([i.metadata.name for i in listed.items], ["cap"])


if __name__ == "__main__":
    unittest.main()
