/** k8s.io/api/core/v1 pod-template messages (field numbers from upstream core/v1/generated.proto). */

import { LabelSelector, ObjectMeta } from "./descriptors-meta.js";
import { list, map, msg } from "./dsl.js";

export const LocalObjectReference = msg("core.v1.LocalObjectReference", { name: [1, "string"] });

const KeyToPath = msg("core.v1.KeyToPath", {
  key: [1, "string"],
  path: [2, "string"],
  mode: [3, "int32", "ptr"],
  user: [4, "int64", "ptr"],
});

const HostPathVolumeSource = msg("core.v1.HostPathVolumeSource", {
  path: [1, "string"],
  type: [2, "string", "ptr"],
});

const EmptyDirVolumeSource = msg("core.v1.EmptyDirVolumeSource", {
  medium: [1, "string"],
  sizeLimit: [2, "quantity"],
  mode: [3, "int32", "ptr"],
});

const SecretVolumeSource = msg("core.v1.SecretVolumeSource", {
  secretName: [1, "string"],
  items: [2, list(KeyToPath)],
  defaultMode: [3, "int32", "ptr"],
  optional: [4, "bool", "ptr"],
  defaultUser: [5, "int64", "ptr"],
});

const ConfigMapVolumeSource = msg("core.v1.ConfigMapVolumeSource", {
  localObjectReference: [1, LocalObjectReference, "inline"],
  items: [2, list(KeyToPath)],
  defaultMode: [3, "int32", "ptr"],
  optional: [4, "bool", "ptr"],
  defaultUser: [5, "int64", "ptr"],
});

const PersistentVolumeClaimVolumeSource = msg("core.v1.PersistentVolumeClaimVolumeSource", {
  claimName: [1, "string"],
  readOnly: [2, "bool"],
});

const VolumeSource = msg("core.v1.VolumeSource", {
  hostPath: [1, HostPathVolumeSource],
  emptyDir: [2, EmptyDirVolumeSource],
  secret: [6, SecretVolumeSource],
  persistentVolumeClaim: [10, PersistentVolumeClaimVolumeSource],
  configMap: [19, ConfigMapVolumeSource],
});

const Volume = msg("core.v1.Volume", {
  name: [1, "string"],
  volumeSource: [2, VolumeSource, "inline"],
});

const ContainerPort = msg("core.v1.ContainerPort", {
  name: [1, "string"],
  hostPort: [2, "int32"],
  containerPort: [3, "int32"],
  protocol: [4, "string"],
  hostIP: [5, "string"],
});

const ObjectFieldSelector = msg("core.v1.ObjectFieldSelector", {
  apiVersion: [1, "string"],
  fieldPath: [2, "string"],
});

const ResourceFieldSelector = msg("core.v1.ResourceFieldSelector", {
  containerName: [1, "string"],
  resource: [2, "string"],
  divisor: [3, "quantity"],
});

const keySelector = (name: string) =>
  msg(name, {
    localObjectReference: [1, LocalObjectReference, "inline"],
    key: [2, "string"],
    optional: [3, "bool", "ptr"],
  });

const EnvVarSource = msg("core.v1.EnvVarSource", {
  fieldRef: [1, ObjectFieldSelector],
  resourceFieldRef: [2, ResourceFieldSelector],
  configMapKeyRef: [3, keySelector("core.v1.ConfigMapKeySelector")],
  secretKeyRef: [4, keySelector("core.v1.SecretKeySelector")],
});

const EnvVar = msg("core.v1.EnvVar", {
  name: [1, "string"],
  value: [2, "string"],
  valueFrom: [3, EnvVarSource],
});

const envSource = (name: string) =>
  msg(name, {
    localObjectReference: [1, LocalObjectReference, "inline"],
    optional: [2, "bool", "ptr"],
  });

const EnvFromSource = msg("core.v1.EnvFromSource", {
  prefix: [1, "string"],
  configMapRef: [2, envSource("core.v1.ConfigMapEnvSource")],
  secretRef: [3, envSource("core.v1.SecretEnvSource")],
});

const ResourceClaim = msg("core.v1.ResourceClaim", { name: [1, "string"], request: [2, "string"] });

export const ResourceRequirements = msg("core.v1.ResourceRequirements", {
  limits: [1, map("quantity")],
  requests: [2, map("quantity")],
  claims: [3, list(ResourceClaim)],
});

const VolumeMount = msg("core.v1.VolumeMount", {
  name: [1, "string"],
  readOnly: [2, "bool"],
  mountPath: [3, "string"],
  subPath: [4, "string"],
  mountPropagation: [5, "string", "ptr"],
  subPathExpr: [6, "string"],
  recursiveReadOnly: [7, "string", "ptr"],
});

const ExecAction = msg("core.v1.ExecAction", { command: [1, list("string")] });
const HTTPHeader = msg("core.v1.HTTPHeader", { name: [1, "string"], value: [2, "string"] });
const HTTPGetAction = msg("core.v1.HTTPGetAction", {
  path: [1, "string"],
  port: [2, "intstr"],
  host: [3, "string"],
  scheme: [4, "string"],
  httpHeaders: [5, list(HTTPHeader)],
});
const TCPSocketAction = msg("core.v1.TCPSocketAction", { port: [1, "intstr"], host: [2, "string"] });
const GRPCAction = msg("core.v1.GRPCAction", { port: [1, "int32"], service: [2, "string", "ptr"] });
const SleepAction = msg("core.v1.SleepAction", { seconds: [1, "int64"] });

const ProbeHandler = msg("core.v1.ProbeHandler", {
  exec: [1, ExecAction],
  httpGet: [2, HTTPGetAction],
  tcpSocket: [3, TCPSocketAction],
  grpc: [4, GRPCAction],
});

const Probe = msg("core.v1.Probe", {
  handler: [1, ProbeHandler, "inline"],
  initialDelaySeconds: [2, "int32"],
  timeoutSeconds: [3, "int32"],
  periodSeconds: [4, "int32"],
  successThreshold: [5, "int32"],
  failureThreshold: [6, "int32"],
  terminationGracePeriodSeconds: [7, "int64", "ptr"],
});

const LifecycleHandler = msg("core.v1.LifecycleHandler", {
  exec: [1, ExecAction],
  httpGet: [2, HTTPGetAction],
  tcpSocket: [3, TCPSocketAction],
  sleep: [4, SleepAction],
});

const Lifecycle = msg("core.v1.Lifecycle", {
  postStart: [1, LifecycleHandler],
  preStop: [2, LifecycleHandler],
});

const Capabilities = msg("core.v1.Capabilities", { add: [1, list("string")], drop: [2, list("string")] });
const SELinuxOptions = msg("core.v1.SELinuxOptions", {
  user: [1, "string"],
  role: [2, "string"],
  type: [3, "string"],
  level: [4, "string"],
});
const SeccompProfile = msg("core.v1.SeccompProfile", {
  type: [1, "string"],
  localhostProfile: [2, "string", "ptr"],
});

const SecurityContext = msg("core.v1.SecurityContext", {
  capabilities: [1, Capabilities],
  privileged: [2, "bool", "ptr"],
  seLinuxOptions: [3, SELinuxOptions],
  runAsUser: [4, "int64", "ptr"],
  runAsNonRoot: [5, "bool", "ptr"],
  readOnlyRootFilesystem: [6, "bool", "ptr"],
  allowPrivilegeEscalation: [7, "bool", "ptr"],
  runAsGroup: [8, "int64", "ptr"],
  procMount: [9, "string", "ptr"],
  seccompProfile: [11, SeccompProfile],
});

const Sysctl = msg("core.v1.Sysctl", { name: [1, "string"], value: [2, "string"] });

const PodSecurityContext = msg("core.v1.PodSecurityContext", {
  seLinuxOptions: [1, SELinuxOptions],
  runAsUser: [2, "int64", "ptr"],
  runAsNonRoot: [3, "bool", "ptr"],
  supplementalGroups: [4, list("int64")],
  fsGroup: [5, "int64", "ptr"],
  runAsGroup: [6, "int64", "ptr"],
  sysctls: [7, list(Sysctl)],
  fsGroupChangePolicy: [9, "string", "ptr"],
  seccompProfile: [10, SeccompProfile],
});

export const Container = msg("core.v1.Container", {
  name: [1, "string"],
  image: [2, "string"],
  command: [3, list("string")],
  args: [4, list("string")],
  workingDir: [5, "string"],
  ports: [6, list(ContainerPort)],
  env: [7, list(EnvVar)],
  resources: [8, ResourceRequirements],
  volumeMounts: [9, list(VolumeMount)],
  livenessProbe: [10, Probe],
  readinessProbe: [11, Probe],
  lifecycle: [12, Lifecycle],
  terminationMessagePath: [13, "string"],
  imagePullPolicy: [14, "string"],
  securityContext: [15, SecurityContext],
  stdin: [16, "bool"],
  stdinOnce: [17, "bool"],
  tty: [18, "bool"],
  envFrom: [19, list(EnvFromSource)],
  terminationMessagePolicy: [20, "string"],
  startupProbe: [22, Probe],
  restartPolicy: [24, "string", "ptr"],
});

const NodeSelectorRequirement = msg("core.v1.NodeSelectorRequirement", {
  key: [1, "string"],
  operator: [2, "string"],
  values: [3, list("string")],
});
const NodeSelectorTerm = msg("core.v1.NodeSelectorTerm", {
  matchExpressions: [1, list(NodeSelectorRequirement)],
  matchFields: [2, list(NodeSelectorRequirement)],
});
const NodeAffinity = msg("core.v1.NodeAffinity", {
  requiredDuringSchedulingIgnoredDuringExecution: [
    1,
    msg("core.v1.NodeSelector", {
      nodeSelectorTerms: [1, list(NodeSelectorTerm)],
    }),
  ],
  preferredDuringSchedulingIgnoredDuringExecution: [
    2,
    list(
      msg("core.v1.PreferredSchedulingTerm", {
        weight: [1, "int32"],
        preference: [2, NodeSelectorTerm],
      }),
    ),
  ],
});
const PodAffinityTerm = msg("core.v1.PodAffinityTerm", {
  labelSelector: [1, LabelSelector],
  namespaces: [2, list("string")],
  topologyKey: [3, "string"],
  namespaceSelector: [4, LabelSelector],
  matchLabelKeys: [5, list("string")],
  mismatchLabelKeys: [6, list("string")],
});
const podAffinity = (name: string) =>
  msg(name, {
    requiredDuringSchedulingIgnoredDuringExecution: [1, list(PodAffinityTerm)],
    preferredDuringSchedulingIgnoredDuringExecution: [
      2,
      list(
        msg("core.v1.WeightedPodAffinityTerm", {
          weight: [1, "int32"],
          podAffinityTerm: [2, PodAffinityTerm],
        }),
      ),
    ],
  });
const Affinity = msg("core.v1.Affinity", {
  nodeAffinity: [1, NodeAffinity],
  podAffinity: [2, podAffinity("core.v1.PodAffinity")],
  podAntiAffinity: [3, podAffinity("core.v1.PodAntiAffinity")],
});

const Toleration = msg("core.v1.Toleration", {
  key: [1, "string"],
  operator: [2, "string"],
  value: [3, "string"],
  effect: [4, "string"],
  tolerationSeconds: [5, "int64", "ptr"],
});

export const PodSpec = msg("core.v1.PodSpec", {
  volumes: [1, list(Volume)],
  containers: [2, list(Container)],
  restartPolicy: [3, "string"],
  terminationGracePeriodSeconds: [4, "int64", "ptr"],
  activeDeadlineSeconds: [5, "int64", "ptr"],
  dnsPolicy: [6, "string"],
  nodeSelector: [7, map("string")],
  serviceAccountName: [8, "string"],
  serviceAccount: [9, "string"],
  nodeName: [10, "string"],
  hostNetwork: [11, "bool"],
  hostPID: [12, "bool"],
  hostIPC: [13, "bool"],
  securityContext: [14, PodSecurityContext],
  imagePullSecrets: [15, list(LocalObjectReference)],
  hostname: [16, "string"],
  subdomain: [17, "string"],
  affinity: [18, Affinity],
  schedulerName: [19, "string"],
  initContainers: [20, list(Container)],
  automountServiceAccountToken: [21, "bool", "ptr"],
  tolerations: [22, list(Toleration)],
  priorityClassName: [24, "string"],
  priority: [25, "int32", "ptr"],
  shareProcessNamespace: [27, "bool", "ptr"],
  runtimeClassName: [29, "string", "ptr"],
  enableServiceLinks: [30, "bool", "ptr"],
  preemptionPolicy: [31, "string", "ptr"],
  overhead: [32, map("quantity")],
  setHostnameAsFQDN: [35, "bool", "ptr"],
  hostUsers: [37, "bool", "ptr"],
});

export const PodTemplateSpec = msg("core.v1.PodTemplateSpec", {
  metadata: [1, ObjectMeta],
  spec: [2, PodSpec],
});
