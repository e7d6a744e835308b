"""Server-side apply through python3-kubernetes (PATCH application/apply-patch+yaml with
ApiClient.call_api), checked against kube-apiserver's answers: create, re-apply, 409 conflicts."""
import json
import unittest

from skiff import ApiException, NamespacedTest, api, core


def apply_cm(ns, name, data, manager, force=False):
    """Applies a ConfigMap; returns (status, object)."""
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})
    query = [("fieldManager", manager)] + ([("force", "true")] if force else [])
    obj, status, _ = api().call_api(
        f"/api/v1/namespaces/{ns}/configmaps/{name}",
        "PATCH",
        query_params=query,
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
        body=body,
        response_type="object",
        auth_settings=["BearerToken"],
        _return_http_data_only=False,
    )
    return status, obj


class ServerSideApply(NamespacedTest):
    def test_apply_creates_and_reapplies(self):
        status, made = apply_cm(self.ns, "a", {"k": "v", "x": "1"}, "py")
        self.assertEqual(status, 201)
        self.assertEqual(made["data"], {"k": "v", "x": "1"})
        entries = made["metadata"]["managedFields"]
        self.assertEqual([(e["manager"], e["operation"]) for e in entries], [("py", "Apply")])
        self.assertEqual(entries[0]["fieldsV1"], {"f:data": {"f:k": {}, "f:x": {}}})
        status, again = apply_cm(self.ns, "a", {"k": "v"}, "py")
        self.assertEqual(status, 200)
        self.assertEqual(again["data"], {"k": "v"}, "x is no longer applied: removed")
        typed = core().read_namespaced_config_map("a", self.ns)
        self.assertEqual(typed.metadata.managed_fields[0].manager, "py")

    def test_conflict_is_409_and_force_takes_over(self):
        apply_cm(self.ns, "b", {"k": "v"}, "first")
        with self.assertRaises(ApiException) as e:
            apply_cm(self.ns, "b", {"k": "other"}, "second")
        self.assertEqual(e.exception.status, 409)
        status = json.loads(e.exception.body)
        self.assertEqual(status["reason"], "Conflict")
        self.assertEqual(status["message"], 'Apply failed with 1 conflict: conflict with "first": .data.k')
        self.assertEqual(
            status["details"]["causes"],
            [{"reason": "FieldManagerConflict", "message": 'conflict with "first"', "field": ".data.k"}],
        )
        status, forced = apply_cm(self.ns, "b", {"k": "other"}, "second", force=True)
        self.assertEqual(status, 200)
        self.assertEqual(forced["data"], {"k": "other"})
        self.assertEqual([e["manager"] for e in forced["metadata"]["managedFields"]], ["second"])

    def test_field_manager_is_required(self):
        with self.assertRaises(ApiException) as e:
            api().call_api(
                f"/api/v1/namespaces/{self.ns}/configmaps/c",
                "PATCH",
                header_params={"Content-Type": "application/apply-patch+yaml"},
                body='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}',
                auth_settings=["BearerToken"],
            )
        self.assertEqual(e.exception.status, 422)
        self.assertIn("fieldManager: Required value: is required for apply patch", e.exception.body)


if __name__ == "__main__":
    unittest.main()
