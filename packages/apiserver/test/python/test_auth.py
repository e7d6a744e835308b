"""ServiceAccount tokens, TokenReview, the projected token volume and SelfSubjectReview through
python3-kubernetes, checked against kube-apiserver's answers."""
import unittest

from skiff import NamespacedTest, client, core

AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def token_for(ns, name):
    core().create_namespaced_service_account(ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name)))
    tr = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    made = core().create_namespaced_service_account_token(name, ns, tr)
    return made


def client_with(token):
    base = client.Configuration.get_default_copy()
    cfg = client.Configuration(host=base.host)
    cfg.ssl_ca_cert = base.ssl_ca_cert
    cfg.api_key = {"authorization": token}
    cfg.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(cfg)


class Tokens(NamespacedTest):
    def test_token_request_and_review(self):
        made = token_for(self.ns, "bot")
        self.assertEqual(made.spec.audiences, [AUDIENCE])
        self.assertEqual(made.spec.expiration_seconds, 3600)
        self.assertTrue(made.status.token)
        review = client.AuthenticationV1Api().create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token=made.status.token))
        )
        self.assertTrue(review.status.authenticated)
        self.assertEqual(review.status.user.username, f"system:serviceaccount:{self.ns}:bot")
        self.assertEqual(
            review.status.user.groups,
            ["system:serviceaccounts", f"system:serviceaccounts:{self.ns}", "system:authenticated"],
        )
        self.assertEqual(review.status.audiences, [AUDIENCE])

    def test_token_client_lists_and_is_the_service_account(self):
        made = token_for(self.ns, "bot")
        api = client_with(made.status.token)
        pods = client.CoreV1Api(api).list_namespaced_pod(self.ns)
        self.assertEqual(pods.items, [])
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        who = api.call_api(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            "POST",
            body=body,
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            auth_settings=["BearerToken"],
            response_type="object",
            _return_http_data_only=True,
        )
        self.assertEqual(who["status"]["userInfo"]["username"], f"system:serviceaccount:{self.ns}:bot")

    def test_pod_gets_the_projected_volume(self):
        pod = client.V1Pod(
            metadata=client.V1ObjectMeta(name="p"),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx")]),
        )
        made = core().create_namespaced_pod(self.ns, pod)
        self.assertEqual(made.spec.service_account_name, "default")
        vols = [v for v in made.spec.volumes if v.name.startswith("kube-api-access-")]
        self.assertEqual(len(vols), 1)
        sources = vols[0].projected.sources
        self.assertEqual(sources[0].service_account_token.expiration_seconds, 3607)
        self.assertEqual(sources[0].service_account_token.path, "token")
        self.assertEqual(sources[1].config_map.name, "kube-root-ca.crt")
        self.assertEqual(sources[2].downward_api.items[0].field_ref.field_path, "metadata.namespace")
        mount = made.spec.containers[0].volume_mounts[0]
        self.assertEqual(mount.mount_path, "/var/run/secrets/kubernetes.io/serviceaccount")
        self.assertTrue(mount.read_only)


if __name__ == "__main__":
    unittest.main()
