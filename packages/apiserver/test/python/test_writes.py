"""Write semantics through python3-kubernetes, checked against kube-apiserver's answers: graceful
deletion of a bound pod, uid preconditions, stale resourceVersions, no-op patches, patch bombs."""
import json
import unittest

from skiff import ApiException, NamespacedTest, api, client, core


def pod(name):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1.25")]),
    )


class Writes(NamespacedTest):
    def bind(self, name):
        # The scheduler's POST of pods/binding (the generated client cannot parse its Status answer).
        api().call_api(
            f"/api/v1/namespaces/{self.ns}/pods/{name}/binding", "POST",
            body={"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                  "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}},
            auth_settings=["BearerToken"], _preload_content=False)

    def test_graceful_deletion_of_a_bound_pod(self):
        v1 = core()
        v1.create_namespaced_pod(self.ns, pod("g"))
        self.bind("g")
        v1.delete_namespaced_pod("g", self.ns)
        got = v1.read_namespaced_pod("g", self.ns)
        self.assertIsNotNone(got.metadata.deletion_timestamp)
        self.assertEqual(got.metadata.deletion_grace_period_seconds, 30)
        # The kubelet reports the last status, then lets go with grace 0.
        v1.patch_namespaced_pod_status("g", self.ns, {"status": {"phase": "Succeeded"}})
        self.assertEqual(v1.read_namespaced_pod("g", self.ns).status.phase, "Succeeded")
        v1.delete_namespaced_pod("g", self.ns, body=client.V1DeleteOptions(
            grace_period_seconds=0, preconditions=client.V1Preconditions(uid=got.metadata.uid)))
        with self.assertRaises(ApiException) as e:
            v1.read_namespaced_pod("g", self.ns)
        self.assertEqual(e.exception.status, 404)

    def test_uid_precondition_on_delete_is_409(self):
        v1 = core()
        v1.create_namespaced_config_map(self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="u")))
        with self.assertRaises(ApiException) as e:
            v1.delete_namespaced_config_map("u", self.ns, body=client.V1DeleteOptions(
                preconditions=client.V1Preconditions(uid="00000000-0000-0000-0000-000000000000")))
        self.assertEqual(e.exception.status, 409)
        self.assertEqual(json.loads(e.exception.body)["reason"], "Conflict")
        v1.read_namespaced_config_map("u", self.ns)

    def test_stale_resource_version_replace_is_409(self):
        v1 = core()
        made = v1.create_namespaced_config_map(
            self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="s"), data={"a": "1"}))
        v1.patch_namespaced_config_map("s", self.ns, {"data": {"a": "2"}})
        made.data = {"a": "3"}
        with self.assertRaises(ApiException) as e:
            v1.replace_namespaced_config_map("s", self.ns, made)
        self.assertEqual(e.exception.status, 409)
        self.assertIn("the object has been modified", json.loads(e.exception.body)["message"])

    def test_noop_patch_keeps_resource_version(self):
        v1 = core()
        made = v1.create_namespaced_config_map(
            self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="n"), data={"a": "1"}))
        for _ in range(3):
            got = v1.patch_namespaced_config_map("n", self.ns, {"data": {"a": "1"}})
            self.assertEqual(got.metadata.resource_version, made.metadata.resource_version)

    def test_patch_bomb_is_4xx(self):
        v1 = core()
        v1.create_namespaced_config_map(
            self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="b"), data={"a": "x" * 1024}))
        ops = [{"op": "copy", "from": "/data", "path": "/metadata/annotations"}]
        ops += [{"op": "copy", "from": "/metadata", "path": f"/metadata/annotations/x{i}"} for i in range(30)]
        with self.assertRaises(ApiException) as e:
            api().call_api(
                f"/api/v1/namespaces/{self.ns}/configmaps/b", "PATCH", body=ops,
                header_params={"Content-Type": "application/json-patch+json"},
                auth_settings=["BearerToken"], _preload_content=False)
        self.assertTrue(400 <= e.exception.status < 500, e.exception.status)


if __name__ == "__main__":
    unittest.main()
