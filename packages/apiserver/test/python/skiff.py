"""Shared set-up for the python3-kubernetes compatibility suite (python-client.test.ts runs each
test_*.py file with KUBECONFIG pointing at a fresh `skiff server`). Every test case makes its own
namespace, so files and cases never see each other's objects."""
import os
import time
import unittest
import uuid

from kubernetes import client, config, watch  # noqa: F401  (re-exported for the test files)
from kubernetes.client.rest import ApiException  # noqa: F401

config.load_kube_config(config_file=os.environ["KUBECONFIG"])


def api():
    return client.ApiClient()


def core():
    return client.CoreV1Api()


def wait_for(what, cond, timeout=30.0, interval=0.05):
    """Polls cond() until it returns a truthy value; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _exists(read):
    try:
        read()
        return True
    except ApiException as e:
        if e.status == 404:
            return False
        raise


class NamespacedTest(unittest.TestCase):
    """A test case with its own namespace `self.ns`, deleted afterwards. As in kube, controllers
    fill a new namespace with the `default` ServiceAccount and the kube-root-ca.crt ConfigMap;
    setUp waits for both, so no test sees them arrive in the middle of a watch."""

    def setUp(self):
        self.ns = f"py-{uuid.uuid4().hex[:10]}"
        v1 = core()
        v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.ns)))
        wait_for(
            f"the default ServiceAccount in {self.ns}",
            lambda: _exists(lambda: v1.read_namespaced_service_account("default", self.ns)),
        )
        wait_for(
            f"kube-root-ca.crt in {self.ns}",
            lambda: _exists(lambda: v1.read_namespaced_config_map("kube-root-ca.crt", self.ns)),
        )

    def tearDown(self):
        try:
            core().delete_namespace(self.ns)
        except ApiException:
            pass
