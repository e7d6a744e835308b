/**
 * framework.Resource: the schedulable resources of a node or the requests of a pod, as integers
 * (cpu in millicores, memory and ephemeral-storage in bytes, pods as a count, extended resources
 * in their own units). Quantities are parsed once, when a pod or node enters the cache.
 */
import { type Pod, parseQuantity, type ResourceList } from "@skiff/api";

export const CPU = "cpu";
export const MEMORY = "memory";
export const EPHEMERAL_STORAGE = "ephemeral-storage";
export const PODS = "pods";

/** kube's DefaultMilliCPURequest and DefaultMemoryRequest: what a pod without requests counts as when scoring. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** A quantity that does not parse: the object carrying it is skipped (with an event), never a crash. */
export class QuantityError extends Error {
  override readonly name = "QuantityError";
  constructor(
    readonly resource: string,
    readonly value: unknown,
    cause: unknown,
  ) {
    super(
      `invalid quantity ${JSON.stringify(value)} for ${resource}: ${cause instanceof Error ? cause.message : cause}`,
    );
  }
}

function parse(name: string, v: unknown): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v !== "string") throw new QuantityError(name, v, "not a string");
  try {
    const n = parseQuantity(v);
    if (!Number.isFinite(n)) throw new Error("out of range");
    return n;
  } catch (e) {
    throw new QuantityError(name, v, e);
  }
}

/** kube's MilliValue rounds up: 0.1001 cpu is 101m. */
const milli = (v: number) => Math.ceil(v * 1000 - 1e-9);

/** Resources whose name has no domain (or the kubernetes.io domain) besides the four built-ins are not "extended". */
export function isScalarResourceName(name: string): boolean {
  if (name === CPU || name === MEMORY || name === EPHEMERAL_STORAGE || name === PODS) return false;
  return name.includes("/") || name.startsWith("hugepages-");
}

export class Resource {
  milliCPU = 0;
  memory = 0;
  ephemeralStorage = 0;
  allowedPodNumber = 0;
  /** Extended resources (e.g. example.com/gpu) and hugepages. */
  scalarResources: Map<string, number> | undefined;

  static fromList(list: ResourceList | undefined): Resource {
    const r = new Resource();
    r.addList(list);
    return r;
  }

  addList(list: ResourceList | undefined): void {
    if (list === undefined || list === null) return;
    for (const [name, q] of Object.entries(list)) {
      const v = parse(name, q);
      if (name === CPU) this.milliCPU += milli(v);
      else if (name === MEMORY) this.memory += Math.ceil(v);
      else if (name === EPHEMERAL_STORAGE) this.ephemeralStorage += Math.ceil(v);
      else if (name === PODS) this.allowedPodNumber += Math.round(v);
      else if (isScalarResourceName(name)) this.addScalar(name, Math.ceil(v));
    }
  }

  addScalar(name: string, v: number): void {
    this.scalarResources ??= new Map();
    this.scalarResources.set(name, (this.scalarResources.get(name) ?? 0) + v);
  }

  scalar(name: string): number {
    return this.scalarResources?.get(name) ?? 0;
  }

  add(o: Resource, sign = 1): void {
    this.milliCPU += sign * o.milliCPU;
    this.memory += sign * o.memory;
    this.ephemeralStorage += sign * o.ephemeralStorage;
    this.allowedPodNumber += sign * o.allowedPodNumber;
    if (o.scalarResources !== undefined) for (const [k, v] of o.scalarResources) this.addScalar(k, sign * v);
  }

  /** Each field the larger of the two (kube's SetMaxResource, for init containers). */
  setMax(o: Resource): void {
    this.milliCPU = Math.max(this.milliCPU, o.milliCPU);
    this.memory = Math.max(this.memory, o.memory);
    this.ephemeralStorage = Math.max(this.ephemeralStorage, o.ephemeralStorage);
    if (o.scalarResources !== undefined)
      for (const [k, v] of o.scalarResources) {
        this.scalarResources ??= new Map();
        this.scalarResources.set(k, Math.max(this.scalar(k), v));
      }
  }

  clone(): Resource {
    const r = new Resource();
    r.add(this);
    return r;
  }

  isZero(): boolean {
    return (
      this.milliCPU === 0 &&
      this.memory === 0 &&
      this.ephemeralStorage === 0 &&
      [...(this.scalarResources?.values() ?? [])].every((v) => v === 0)
    );
  }
}

/**
 * One container's requests. With `nonMissing`, a container that names no cpu or memory request
 * counts as DEFAULT_MILLI_CPU_REQUEST / DEFAULT_MEMORY_REQUEST (resourcehelper's
 * NonMissingContainerRequests); an explicit "0" stays 0, as in kube.
 */
function containerRequests(c: { resources?: { requests?: ResourceList } }, nonMissing: boolean): Resource {
  const requests = c.resources?.requests;
  const r = Resource.fromList(requests);
  if (nonMissing) {
    if (requests?.[CPU] === undefined) r.milliCPU += DEFAULT_MILLI_CPU_REQUEST;
    if (requests?.[MEMORY] === undefined) r.memory += DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/**
 * The pod's effective request (resourcehelper.PodRequests): the sum of its containers, at least
 * the largest init container (restartable sidecar init containers add to both), plus overhead.
 * `nonMissing` applies the scoring defaults to every container, init containers included.
 */
export function podRequests(pod: Pod, nonMissing = false): Resource {
  const spec = pod.spec;
  const req = new Resource();
  for (const c of spec.containers ?? []) req.add(containerRequests(c, nonMissing));
  const sidecars = new Resource();
  const initMax = new Resource();
  for (const c of spec.initContainers ?? []) {
    const one = containerRequests(c, nonMissing);
    if (c.restartPolicy === "Always") {
      sidecars.add(one);
      req.add(one);
      initMax.setMax(sidecars);
    } else {
      one.add(sidecars);
      initMax.setMax(one);
    }
  }
  req.setMax(initMax);
  if (spec.overhead !== undefined) req.addList(spec.overhead);
  return req;
}

/**
 * cpu and memory as scoring counts them (schedutil.GetNonzeroRequests, i.e. PodRequests with
 * NonMissingContainerRequests): containers without a request count as 100m and 200Mi so that
 * best-effort pods still spread.
 */
export function nonZeroRequests(pod: Pod): { milliCPU: number; memory: number } {
  const r = podRequests(pod, true);
  return { milliCPU: r.milliCPU, memory: r.memory };
}
