/**
 * PodSpec and its parts (core/v1), shared by Pod, PodTemplate-carrying kinds (Deployment,
 * ReplicaSet, DaemonSet, StatefulSet, Job). Patch merge keys as upstream: containers, env and
 * volumes by name, ports by containerPort, volumeMounts by mountPath, conditions by type.
 */
import { objectMetaSchema } from "../meta.js";
import {
  any,
  bool,
  enumOf,
  int32,
  int64,
  intOrString,
  list,
  mapOf,
  mergeList,
  obj,
  quantity,
  str,
  stringMap,
  strings,
  time,
  withListMapKeys,
} from "../schema.js";

const keySelector = (what: string) =>
  obj(
    { name: str(`Name of the ${what}.`), key: str("The key to select."), optional: bool() },
    `Selects a key of a ${what}.`,
  );

const envVar = obj(
  {
    name: str("Name of the environment variable."),
    value: str("Variable value; $(VAR) references are expanded."),
    valueFrom: obj(
      {
        fieldRef: obj({ apiVersion: str(), fieldPath: str("Path of the field to select.") }),
        resourceFieldRef: obj({ containerName: str(), resource: str(), divisor: quantity() }),
        configMapKeyRef: keySelector("ConfigMap"),
        secretKeyRef: keySelector("Secret"),
      },
      "Source for the environment variable's value.",
    ),
  },
  "EnvVar represents an environment variable present in a Container.",
  ["name"],
);

const resources = obj(
  {
    limits: mapOf(quantity(), "Maximum amount of compute resources allowed."),
    requests: mapOf(quantity(), "Minimum amount of compute resources required."),
    claims: list(any()),
  },
  "Compute resources required by this container.",
);

const httpGet = obj({
  path: str(),
  port: intOrString("Name or number of the port to access on the container."),
  host: str(),
  scheme: enumOf(["HTTP", "HTTPS"]),
  httpHeaders: list(obj({ name: str(), value: str() })),
});
const handler = {
  exec: obj({ command: strings("Command line to execute inside the container.") }),
  httpGet,
  tcpSocket: obj({ port: intOrString(), host: str() }),
  grpc: obj({ port: int32(), service: str() }),
};
const probe = obj(
  {
    ...handler,
    initialDelaySeconds: int32(),
    timeoutSeconds: int32("Defaults to 1 second."),
    periodSeconds: int32("Defaults to 10 seconds."),
    successThreshold: int32("Defaults to 1."),
    failureThreshold: int32("Defaults to 3."),
    terminationGracePeriodSeconds: int64(),
  },
  "Probe describes a health check to be performed against a container.",
);
const lifecycleHandler = obj({ ...handler, sleep: obj({ seconds: int64() }) });

const securityContext = obj(
  {
    runAsUser: int64(),
    runAsGroup: int64(),
    runAsNonRoot: bool(),
    readOnlyRootFilesystem: bool(),
    privileged: bool(),
    allowPrivilegeEscalation: bool(),
    capabilities: obj({ add: strings(), drop: strings() }),
    seccompProfile: obj({ type: str(), localhostProfile: str() }),
    procMount: str(),
  },
  "Security options the container should be run with.",
);

export const containerSchema = obj(
  {
    name: str("Name of the container, a DNS_LABEL unique within the pod."),
    image: str("Container image name."),
    command: strings("Entrypoint array, not run within a shell."),
    args: strings("Arguments to the entrypoint."),
    workingDir: str(),
    ports: withListMapKeys(
      mergeList(
        obj(
          {
            name: str(),
            containerPort: int32("Number of port to expose on the pod's IP address."),
            hostPort: int32(),
            protocol: enumOf(["TCP", "UDP", "SCTP"], 'Defaults to "TCP".'),
            hostIP: str(),
          },
          "ContainerPort represents a network port in a single container.",
          ["containerPort"],
        ),
        "containerPort",
        "List of ports to expose from the container.",
      ),
      ["containerPort", "protocol"],
      { protocol: "TCP" },
    ),
    envFrom: list(
      obj({
        prefix: str(),
        configMapRef: obj({ name: str(), optional: bool() }),
        secretRef: obj({ name: str(), optional: bool() }),
      }),
    ),
    env: mergeList(envVar, "name", "List of environment variables to set in the container."),
    resources,
    volumeMounts: mergeList(
      obj(
        {
          name: str(),
          mountPath: str(),
          readOnly: bool(),
          subPath: str(),
          subPathExpr: str(),
          mountPropagation: str(),
          recursiveReadOnly: str(),
        },
        "VolumeMount describes a mounting of a Volume within a container.",
        ["name", "mountPath"],
      ),
      "mountPath",
      "Pod volumes to mount into the container's filesystem.",
    ),
    livenessProbe: probe,
    readinessProbe: probe,
    startupProbe: probe,
    lifecycle: obj({ postStart: lifecycleHandler, preStop: lifecycleHandler, stopSignal: str() }),
    terminationMessagePath: str(),
    terminationMessagePolicy: enumOf(["File", "FallbackToLogsOnError"]),
    imagePullPolicy: enumOf(["Always", "Never", "IfNotPresent"], "Image pull policy."),
    securityContext,
    stdin: bool(),
    stdinOnce: bool(),
    tty: bool(),
    restartPolicy: str("Init containers only: Always makes a sidecar."),
    resizePolicy: list(any()),
  },
  "A single application container that you want to run within a pod.",
  ["name"],
);

const volumeSchema = obj(
  {
    name: str("Volume's name, a DNS_LABEL unique within the pod."),
    emptyDir: obj({ medium: str(), sizeLimit: quantity() }),
    hostPath: obj({ path: str(), type: str() }),
    configMap: obj({
      name: str(),
      items: list(obj({ key: str(), path: str(), mode: int32() })),
      defaultMode: int32(),
      optional: bool(),
    }),
    secret: obj({
      secretName: str(),
      items: list(obj({ key: str(), path: str(), mode: int32() })),
      defaultMode: int32(),
      optional: bool(),
    }),
    persistentVolumeClaim: obj({ claimName: str(), readOnly: bool() }),
    projected: any(),
    downwardAPI: any(),
    nfs: any(),
    csi: any(),
    ephemeral: any(),
  },
  "Volume represents a named volume in a pod.",
  ["name"],
);

const toleration = obj({
  key: str(),
  operator: enumOf(["Exists", "Equal"]),
  value: str(),
  effect: enumOf(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  tolerationSeconds: int64(),
});

export const podSpecSchema = obj(
  {
    volumes: list(volumeSchema, "List of volumes that can be mounted by containers.", {
      mergeKey: "name",
      strategy: "merge,retainKeys",
    }),
    initContainers: mergeList(containerSchema, "name", "Containers run in order before the app containers."),
    containers: mergeList(containerSchema, "name", "List of containers belonging to the pod."),
    ephemeralContainers: list(any()),
    restartPolicy: enumOf(
      ["Always", "OnFailure", "Never"],
      "Restart policy for all containers. Default Always.",
    ),
    terminationGracePeriodSeconds: int64(
      "Duration in seconds the pod needs to terminate gracefully. Default 30.",
    ),
    activeDeadlineSeconds: int64(),
    dnsPolicy: enumOf(
      ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
      "Default ClusterFirst.",
    ),
    nodeSelector: stringMap("Labels a node must have to fit the pod."),
    serviceAccountName: str(),
    serviceAccount: str("Deprecated alias of serviceAccountName."),
    automountServiceAccountToken: bool(),
    nodeName: str("The node the pod is bound to (set by the scheduler)."),
    hostNetwork: bool(),
    hostPID: bool(),
    hostIPC: bool(),
    shareProcessNamespace: bool(),
    securityContext: any("Pod-level security attributes."),
    imagePullSecrets: mergeList(obj({ name: str() }), "name"),
    hostname: str(),
    subdomain: str(),
    affinity: any("Scheduling constraints: nodeAffinity, podAffinity, podAntiAffinity."),
    schedulerName: str("Default default-scheduler."),
    tolerations: list(toleration),
    hostAliases: mergeList(obj({ ip: str(), hostnames: strings() }), "ip"),
    priorityClassName: str(),
    priority: int32(),
    dnsConfig: any(),
    readinessGates: list(obj({ conditionType: str() })),
    runtimeClassName: str(),
    enableServiceLinks: bool(),
    preemptionPolicy: str(),
    overhead: mapOf(quantity()),
    topologySpreadConstraints: list(any(), undefined, { mergeKey: "topologyKey", strategy: "merge" }),
    setHostnameAsFQDN: bool(),
    os: obj({ name: str() }),
    hostUsers: bool(),
    schedulingGates: list(obj({ name: str() })),
    resourceClaims: list(any()),
    resources,
  },
  "PodSpec is a description of a pod.",
  ["containers"],
);

export const podTemplateSpecSchema = obj(
  { metadata: objectMetaSchema, spec: podSpecSchema },
  "PodTemplateSpec describes the data a pod should have when created from a template.",
);

const condition = obj({
  type: str(),
  status: enumOf(["True", "False", "Unknown"]),
  lastProbeTime: time(),
  lastTransitionTime: time(),
  reason: str(),
  message: str(),
  observedGeneration: int64(),
});

const containerState = obj({
  waiting: obj({ reason: str(), message: str() }),
  running: obj({ startedAt: time() }),
  terminated: obj({
    exitCode: int32(),
    signal: int32(),
    reason: str(),
    message: str(),
    startedAt: time(),
    finishedAt: time(),
    containerID: str(),
  }),
});

const containerStatus = obj({
  name: str(),
  state: containerState,
  lastState: containerState,
  ready: bool(),
  restartCount: int32(),
  image: str(),
  imageID: str(),
  containerID: str(),
  started: bool(),
  resources,
  user: any(),
  volumeMounts: list(any()),
  allocatedResources: mapOf(quantity()),
  stopSignal: str(),
});

export const podStatusSchema = obj(
  {
    phase: enumOf(["Pending", "Running", "Succeeded", "Failed", "Unknown"]),
    conditions: mergeList(condition, "type"),
    message: str(),
    reason: str(),
    nominatedNodeName: str(),
    hostIP: str(),
    hostIPs: list(obj({ ip: str() })),
    podIP: str(),
    podIPs: mergeList(obj({ ip: str() }), "ip"),
    startTime: time(),
    initContainerStatuses: list(containerStatus),
    containerStatuses: list(containerStatus),
    ephemeralContainerStatuses: list(containerStatus),
    qosClass: enumOf(["Guaranteed", "Burstable", "BestEffort"]),
    resize: str(),
    resourceClaimStatuses: list(any()),
    observedGeneration: int64(),
  },
  "PodStatus represents information about the status of a pod.",
);

export const conditionSchema = condition;
