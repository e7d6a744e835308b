"""CRUD, errors and paging through python3-kubernetes, checked against kube-apiserver's answers."""
import unittest

from skiff import ApiException, NamespacedTest, client, core


class Basics(NamespacedTest):
    def test_configmap_crud(self):
        v1 = core()
        cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="a"), data={"k": "v"})
        made = v1.create_namespaced_config_map(self.ns, cm)
        self.assertEqual(made.data, {"k": "v"})
        self.assertTrue(made.metadata.uid)
        got = v1.read_namespaced_config_map("a", self.ns)
        self.assertEqual(got.metadata.resource_version, made.metadata.resource_version)
        got.data["k"] = "w"
        put = v1.replace_namespaced_config_map("a", self.ns, got)
        self.assertEqual(put.data, {"k": "w"})
        patched = v1.patch_namespaced_config_map("a", self.ns, {"data": {"x": "y"}})
        self.assertEqual(patched.data, {"k": "w", "x": "y"})
        v1.delete_namespaced_config_map("a", self.ns)
        with self.assertRaises(ApiException) as e:
            v1.read_namespaced_config_map("a", self.ns)
        self.assertEqual(e.exception.status, 404)

    def test_already_exists_is_409(self):
        v1 = core()
        cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dup"))
        v1.create_namespaced_config_map(self.ns, cm)
        with self.assertRaises(ApiException) as e:
            v1.create_namespaced_config_map(self.ns, cm)
        self.assertEqual(e.exception.status, 409)
        self.assertIn('"reason":"AlreadyExists"', e.exception.body.replace(" ", ""))

    def test_paging_sees_every_item_once(self):
        v1 = core()
        for i in range(7):
            v1.create_namespaced_config_map(
                self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"p{i}"))
            )
        names, token = [], None
        while True:
            page = v1.list_namespaced_config_map(self.ns, limit=3, _continue=token)
            names += [c.metadata.name for c in page.items]
            token = page.metadata._continue
            if not token:
                break
        # Every namespace also holds kube-root-ca.crt (kube's root-ca-cert-publisher).
        self.assertEqual(sorted(n for n in names if n != "kube-root-ca.crt"), [f"p{i}" for i in range(7)])
        self.assertEqual(len(names), len(set(names)))


if __name__ == "__main__":
    unittest.main()
