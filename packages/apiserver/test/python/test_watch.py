"""Watches, paging and metadata-only lists through python3-kubernetes, as against kube-apiserver."""
import base64
import json
import threading
import unittest

from skiff import ApiException, NamespacedTest, api, client, core, watch


def cm(name, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data or {})


class Watches(NamespacedTest):
    def test_watch_from_a_list_sees_exactly_the_later_events(self):
        v1 = core()
        v1.create_namespaced_config_map(self.ns, cm("before"))
        rv = v1.list_namespaced_config_map(self.ns).metadata.resource_version
        # watch=True (as the client sends it) must be a watch, from the list's revision.
        got = []
        done = threading.Event()
        w = watch.Watch()

        def run():
            for ev in w.stream(v1.list_namespaced_config_map, self.ns, resource_version=rv, timeout_seconds=30):
                got.append((ev["type"], ev["object"].metadata.name))
                if len(got) == 4:
                    w.stop()
            done.set()

        th = threading.Thread(target=run)
        th.start()
        v1.create_namespaced_config_map(self.ns, cm("a"))
        v1.patch_namespaced_config_map("a", self.ns, {"data": {"x": "1"}})
        v1.delete_namespaced_config_map("a", self.ns)
        v1.delete_namespaced_config_map("before", self.ns)
        self.assertTrue(done.wait(40), "the watch ended")
        th.join()
        self.assertEqual(got, [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a"), ("DELETED", "before")])

    def test_paging_and_a_forged_continue_token(self):
        v1 = core()
        # Names before "kube-root-ca.crt", which every namespace also holds (and is counted).
        for i in range(5):
            v1.create_namespaced_config_map(self.ns, cm(f"a{i}"))
        first = v1.list_namespaced_config_map(self.ns, limit=2)
        self.assertEqual([c.metadata.name for c in first.items], ["a0", "a1"])
        self.assertEqual(first.metadata.remaining_item_count, 4)
        second = v1.list_namespaced_config_map(self.ns, limit=2, _continue=first.metadata._continue)
        self.assertEqual([c.metadata.name for c in second.items], ["a2", "a3"])
        rv = int(first.metadata.resource_version)
        forged = base64.urlsafe_b64encode(
            json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": "../../namespaces/"}).encode()
        ).decode().rstrip("=")
        with self.assertRaises(ApiException) as e:
            v1.list_namespaced_config_map(self.ns, limit=2, _continue=forged)
        self.assertEqual(e.exception.status, 400)
        self.assertIn("continue key is not valid", json.loads(e.exception.body)["message"])

    def test_resource_version_errors(self):
        v1 = core()
        with self.assertRaises(ApiException) as e:
            v1.list_namespaced_config_map(self.ns, resource_version="abc")
        self.assertEqual(e.exception.status, 400)
        with self.assertRaises(ApiException) as e:
            v1.list_namespaced_config_map(self.ns, resource_version_match="NotOlderThan")
        self.assertEqual(e.exception.status, 422)
        self.assertEqual(json.loads(e.exception.body)["details"]["kind"], "ListOptions")

    def test_metadata_only_list(self):
        v1 = core()
        v1.create_namespaced_config_map(self.ns, cm("m", {"secret": "s"}))
        data, status, _ = api().call_api(
            f"/api/v1/namespaces/{self.ns}/configmaps",
            "GET",
            header_params={"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"},
            response_type="object",
            auth_settings=["BearerToken"],
        )
        self.assertEqual(status, 200)
        self.assertEqual(data["kind"], "PartialObjectMetadataList")
        self.assertEqual(data["apiVersion"], "meta.k8s.io/v1")
        # Every namespace also holds kube-root-ca.crt (kube's root-ca-cert-publisher).
        items = [i for i in data["items"] if i["metadata"]["name"] != "kube-root-ca.crt"]
        self.assertEqual([i["metadata"]["name"] for i in items], ["m"])
        self.assertEqual(items[0]["kind"], "PartialObjectMetadata")
        self.assertNotIn("data", items[0])


if __name__ == "__main__":
    unittest.main()
