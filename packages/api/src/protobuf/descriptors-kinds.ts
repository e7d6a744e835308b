/**
 * Kinds of the scheduler/kubelet set that kubectl's typed commands send as protobuf:
 * scheduling.k8s.io/v1 PriorityClass (`kubectl create priorityclass`), certificates.k8s.io/v1
 * CertificateSigningRequest (`kubectl certificate approve|deny` PUTs it to /approval) and
 * autoscaling/v1 and v2 HorizontalPodAutoscaler (`kubectl autoscale` sends v1). Field numbers from
 * upstream scheduling/v1, certificates/v1, autoscaling/v1 and autoscaling/v2 generated.proto.
 */
import { LabelSelector, ObjectMeta } from "./descriptors-meta.js";
import { list, msg } from "./dsl.js";

export const PriorityClass = msg("scheduling.v1.PriorityClass", {
  metadata: [1, ObjectMeta],
  value: [2, "int32", "ptr"],
  globalDefault: [3, "bool"],
  description: [4, "string"],
  preemptionPolicy: [5, "string", "ptr"],
});

const CertificateSigningRequestSpec = msg(
  "certificates.v1.CertificateSigningRequestSpec",
  {
    request: [1, "bytes"],
    username: [2, "string"],
    uid: [3, "string"],
    groups: [4, list("string")],
    usages: [5, list("string")],
    signerName: [7, "string"],
    expirationSeconds: [8, "int32", "ptr"],
  },
  // extra (6, a map of ExtraValue) is the server's to fill from the requesting user.
  { skipUnknown: true },
);

const CertificateSigningRequestCondition = msg("certificates.v1.CertificateSigningRequestCondition", {
  type: [1, "string"],
  reason: [2, "string"],
  message: [3, "string"],
  lastUpdateTime: [4, "time"],
  lastTransitionTime: [5, "time"],
  status: [6, "string"],
});

export const CertificateSigningRequest = msg("certificates.v1.CertificateSigningRequest", {
  metadata: [1, ObjectMeta],
  spec: [2, CertificateSigningRequestSpec],
  status: [
    3,
    msg("certificates.v1.CertificateSigningRequestStatus", {
      conditions: [1, list(CertificateSigningRequestCondition)],
      certificate: [2, "bytes"],
    }),
  ],
});

// autoscaling/v2 HorizontalPodAutoscaler (`kubectl autoscale`), field numbers from autoscaling/v2.
const CrossVersionObjectReference = msg("autoscaling.v2.CrossVersionObjectReference", {
  kind: [1, "string"],
  name: [2, "string"],
  apiVersion: [3, "string"],
});
const MetricTarget = msg("autoscaling.v2.MetricTarget", {
  type: [1, "string"],
  value: [2, "quantity"],
  averageValue: [3, "quantity"],
  averageUtilization: [4, "int32", "ptr"],
});
const MetricIdentifier = msg("autoscaling.v2.MetricIdentifier", {
  name: [1, "string"],
  selector: [2, LabelSelector],
});
const MetricSpec = msg("autoscaling.v2.MetricSpec", {
  type: [1, "string"],
  object: [
    2,
    msg("autoscaling.v2.ObjectMetricSource", {
      describedObject: [1, CrossVersionObjectReference],
      target: [2, MetricTarget],
      metric: [3, MetricIdentifier],
    }),
  ],
  pods: [
    3,
    msg("autoscaling.v2.PodsMetricSource", { metric: [1, MetricIdentifier], target: [2, MetricTarget] }),
  ],
  resource: [
    4,
    msg("autoscaling.v2.ResourceMetricSource", { name: [1, "string"], target: [2, MetricTarget] }),
  ],
  external: [
    5,
    msg("autoscaling.v2.ExternalMetricSource", { metric: [1, MetricIdentifier], target: [2, MetricTarget] }),
  ],
  containerResource: [
    7,
    msg("autoscaling.v2.ContainerResourceMetricSource", {
      name: [1, "string"],
      target: [2, MetricTarget],
      container: [3, "string"],
    }),
  ],
});
const HPAScalingRules = msg("autoscaling.v2.HPAScalingRules", {
  selectPolicy: [1, "string", "ptr"],
  policies: [
    2,
    list(
      msg("autoscaling.v2.HPAScalingPolicy", {
        type: [1, "string"],
        value: [2, "int32"],
        periodSeconds: [3, "int32"],
      }),
    ),
  ],
  stabilizationWindowSeconds: [3, "int32", "ptr"],
  tolerance: [4, "quantity"],
});

export const HorizontalPodAutoscaler = msg("autoscaling.v2.HorizontalPodAutoscaler", {
  metadata: [1, ObjectMeta],
  spec: [
    2,
    msg("autoscaling.v2.HorizontalPodAutoscalerSpec", {
      scaleTargetRef: [1, CrossVersionObjectReference],
      minReplicas: [2, "int32", "ptr"],
      maxReplicas: [3, "int32"],
      metrics: [4, list(MetricSpec)],
      behavior: [
        5,
        msg("autoscaling.v2.HorizontalPodAutoscalerBehavior", {
          scaleUp: [1, HPAScalingRules],
          scaleDown: [2, HPAScalingRules],
        }),
      ],
    }),
  ],
  // Status is the controller's: skipped on create.
  status: [3, msg("autoscaling.v2.HorizontalPodAutoscalerStatus", {}, { skipUnknown: true })],
});

// autoscaling/v1 HorizontalPodAutoscaler: what `kubectl autoscale` 1.32 sends.
export const HorizontalPodAutoscalerV1 = msg("autoscaling.v1.HorizontalPodAutoscaler", {
  metadata: [1, ObjectMeta],
  spec: [
    2,
    msg("autoscaling.v1.HorizontalPodAutoscalerSpec", {
      scaleTargetRef: [
        1,
        msg("autoscaling.v1.CrossVersionObjectReference", {
          kind: [1, "string"],
          name: [2, "string"],
          apiVersion: [3, "string"],
        }),
      ],
      minReplicas: [2, "int32", "ptr"],
      maxReplicas: [3, "int32"],
      targetCPUUtilizationPercentage: [4, "int32", "ptr"],
    }),
  ],
  status: [3, msg("autoscaling.v1.HorizontalPodAutoscalerStatus", {}, { skipUnknown: true })],
});
