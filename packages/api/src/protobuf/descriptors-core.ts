/** k8s.io/api/core/v1 top-level kinds (field numbers from upstream core/v1/generated.proto). */

import { Condition, ObjectMeta } from "./descriptors-meta.js";
import { LocalObjectReference, PodSpec } from "./descriptors-pod.js";
import { list, map, msg } from "./dsl.js";

export const Namespace = msg("core.v1.Namespace", {
  metadata: [1, ObjectMeta],
  spec: [2, msg("core.v1.NamespaceSpec", { finalizers: [1, list("string")] })],
  status: [
    3,
    msg("core.v1.NamespaceStatus", {
      phase: [1, "string"],
      conditions: [
        2,
        list(
          msg("core.v1.NamespaceCondition", {
            type: [1, "string"],
            status: [2, "string"],
            lastTransitionTime: [4, "time"],
            reason: [5, "string"],
            message: [6, "string"],
          }),
        ),
      ],
    }),
  ],
});

export const ConfigMap = msg("core.v1.ConfigMap", {
  metadata: [1, ObjectMeta],
  data: [2, map("string")],
  binaryData: [3, map("bytes")],
  immutable: [4, "bool", "ptr"],
});

export const Secret = msg("core.v1.Secret", {
  metadata: [1, ObjectMeta],
  data: [2, map("bytes")],
  type: [3, "string"],
  stringData: [4, map("string")],
  immutable: [5, "bool", "ptr"],
});

const ObjectReference = msg("core.v1.ObjectReference", {
  kind: [1, "string"],
  namespace: [2, "string"],
  name: [3, "string"],
  uid: [4, "string"],
  apiVersion: [5, "string"],
  resourceVersion: [6, "string"],
  fieldPath: [7, "string"],
});

export const ServiceAccount = msg("core.v1.ServiceAccount", {
  metadata: [1, ObjectMeta],
  secrets: [2, list(ObjectReference)],
  imagePullSecrets: [3, list(LocalObjectReference)],
  automountServiceAccountToken: [4, "bool", "ptr"],
});

const ServicePort = msg("core.v1.ServicePort", {
  name: [1, "string"],
  protocol: [2, "string"],
  port: [3, "int32"],
  targetPort: [4, "intstr"],
  nodePort: [5, "int32"],
  appProtocol: [6, "string", "ptr"],
});

const ServiceSpec = msg("core.v1.ServiceSpec", {
  ports: [1, list(ServicePort)],
  selector: [2, map("string")],
  clusterIP: [3, "string"],
  type: [4, "string"],
  externalIPs: [5, list("string")],
  sessionAffinity: [7, "string"],
  loadBalancerIP: [8, "string"],
  loadBalancerSourceRanges: [9, list("string")],
  externalName: [10, "string"],
  externalTrafficPolicy: [11, "string"],
  healthCheckNodePort: [12, "int32"],
  publishNotReadyAddresses: [13, "bool"],
  sessionAffinityConfig: [
    14,
    msg("core.v1.SessionAffinityConfig", {
      clientIP: [1, msg("core.v1.ClientIPConfig", { timeoutSeconds: [1, "int32", "ptr"] })],
    }),
  ],
  ipFamilyPolicy: [17, "string", "ptr"],
  clusterIPs: [18, list("string")],
  ipFamilies: [19, list("string")],
  allocateLoadBalancerNodePorts: [20, "bool", "ptr"],
  loadBalancerClass: [21, "string", "ptr"],
  internalTrafficPolicy: [22, "string", "ptr"],
  trafficDistribution: [23, "string", "ptr"],
});

const LoadBalancerIngress = msg("core.v1.LoadBalancerIngress", {
  ip: [1, "string"],
  hostname: [2, "string"],
  ipMode: [3, "string", "ptr"],
  ports: [
    4,
    list(
      msg("core.v1.PortStatus", { port: [1, "int32"], protocol: [2, "string"], error: [3, "string", "ptr"] }),
    ),
  ],
});

export const Service = msg("core.v1.Service", {
  metadata: [1, ObjectMeta],
  spec: [2, ServiceSpec],
  status: [
    3,
    msg("core.v1.ServiceStatus", {
      loadBalancer: [1, msg("core.v1.LoadBalancerStatus", { ingress: [1, list(LoadBalancerIngress)] })],
      conditions: [2, list(Condition)],
    }),
  ],
});

/** Pod status is ignored on create, so it is skipped rather than decoded. */
export const Pod = msg("core.v1.Pod", {
  metadata: [1, ObjectMeta],
  spec: [2, PodSpec],
  status: [3, msg("core.v1.PodStatus", {}, { skipUnknown: true })],
});
