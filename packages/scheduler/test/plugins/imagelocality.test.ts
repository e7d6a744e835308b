/** ImageLocality, as kube's imagelocality/image_locality_test.go, with the cache filling imageStates and without. */
import type { ContainerImage, Node, Pod } from "@skiff/api";
import t from "tap";
import { ImageStates } from "../../src/framework/image-states.js";
import type { NodeInfo } from "../../src/framework/node-info.js";
import {
  alternateImageName,
  calculatePriority,
  type ImageLocality,
  New,
  normalizedImageName,
} from "../../src/plugins/imagelocality/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { runScore } from "./util.js";

const mb = 1024 * 1024;

const withImages = (name: string, images: ContainerImage[]): Node => {
  const n = makeNode(name);
  (n.status as NonNullable<Node["status"]>).images = images;
  return n;
};
const node403002000 = (name: string) =>
  withImages(name, [
    { names: ["gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"], sizeBytes: 40 * mb },
    { names: ["gcr.io/300:latest", "gcr.io/300:v1"], sizeBytes: 300 * mb },
    { names: ["gcr.io/2000:latest"], sizeBytes: 2000 * mb },
  ]);
const node25010 = (name: string) =>
  withImages(name, [
    { names: ["gcr.io/250:latest"], sizeBytes: 250 * mb },
    { names: ["gcr.io/10:latest", "gcr.io/10:v1"], sizeBytes: 10 * mb },
  ]);
const nodeWithNoImages = (name: string) => makeNode(name);

const podWithImages = (images: string[], init: string[] = []): Pod =>
  makePod("p", {
    spec: {
      containers: images.map((image, i) => ({ name: `c${i}`, image })),
      initContainers: init.map((image, i) => ({ name: `i${i}`, image })),
    },
  });

/** Scores with NodeInfo.imageStates filled by ImageStates (the cache's way) or left empty (the fallback). */
function score(pod: Pod, nodes: Node[], fillImageStates: boolean): number[] {
  const nis: NodeInfo[] = nodes.map((n) => nodeInfo(n));
  if (fillImageStates) {
    const states = new ImageStates();
    for (const [i, n] of nodes.entries()) states.addNodeImageStates(n, nis[i] as NodeInfo);
  }
  const plugin = New(undefined, fakeHandle(nis)) as ImageLocality;
  return runScore(plugin, pod, nis).scores.map((s) => s.score);
}

t.test("Score (kube's TestImageLocalityPriority)", async (t) => {
  const cases: { name: string; pod: Pod; nodes: Node[]; want: number[] }[] = [
    {
      // machine1: gcr.io/40 40MB x 1/2 = 20MB, below the 23MB threshold: 0.
      // machine2: gcr.io/250 250MB x 1/2 = 125MB: 100 * (125 - 23) / (2000 - 23) = 5.
      name: "two images spread on two nodes, prefer the larger image one",
      pod: podWithImages(["gcr.io/40", "gcr.io/250"]),
      nodes: [node403002000("machine1"), node25010("machine2")],
      want: [0, 5],
    },
    {
      // machine1: (40 + 300) / 2 = 170MB: 100 * (170 - 23) / 1977 = 7.
      name: "two images on one node, prefer this node",
      pod: podWithImages(["gcr.io/40", "gcr.io/300"]),
      nodes: [node403002000("machine1"), node25010("machine2")],
      want: [7, 0],
    },
    {
      // machine1: 2000MB / 2 = 1000MB: 100 * (1000 - 23) / 1977 = 49; machine2: 10MB / 2: 0.
      name: "if exceed limit, use limit",
      pod: podWithImages(["gcr.io/2000", "gcr.io/10"]),
      nodes: [node403002000("machine1"), node25010("machine2")],
      want: [49, 0],
    },
    {
      // machine1: 2000MB / 3: 100 * (666.7 - 23) / 1977 = 32.
      name: "if exceed limit, use limit (with node which has no images present)",
      pod: podWithImages(["gcr.io/2000", "gcr.io/10"]),
      nodes: [node403002000("machine1"), node25010("machine2"), nodeWithNoImages("machine3")],
      want: [32, 0, 0],
    },
    {
      // One container: the maximum is 1000MB. machine1: 300MB / 2 = 150MB: 100 * 127 / 977 = 12.
      name: "a tag other than latest is matched as written",
      pod: podWithImages(["gcr.io/300:v1"]),
      nodes: [node403002000("machine1"), node25010("machine2")],
      want: [12, 0],
    },
    {
      // Init containers count too (and raise the maximum): (300 + 40) / 2 = 170MB of 2000MB.
      name: "init container images count",
      pod: podWithImages(["gcr.io/40"], ["gcr.io/300"]),
      nodes: [node403002000("machine1"), node25010("machine2")],
      want: [7, 0],
    },
    {
      name: "no image on any node",
      pod: podWithImages(["gcr.io/unknown"]),
      nodes: [node403002000("machine1"), node25010("machine2")],
      want: [0, 0],
    },
  ];
  for (const tc of cases) {
    t.same(score(tc.pod, tc.nodes, true), tc.want, `${tc.name} (imageStates from the cache)`);
    t.same(score(tc.pod, tc.nodes, false), tc.want, `${tc.name} (status.images fallback)`);
  }
});

t.test("Docker Hub names match in either spelling", async (t) => {
  const containerd = withImages("containerd", [
    { names: ["docker.io/library/nginx:1.25", "docker.io/library/nginx@sha256:abc"], sizeBytes: 500 * mb },
  ]);
  const docker = withImages("docker", [{ names: ["nginx:1.25"], sizeBytes: 500 * mb }]);
  const empty = makeNode("empty");
  // 500MB x 1/3 = 166.7MB of one container: 100 * (166.7 - 23) / 977 = 14.
  for (const fill of [true, false]) {
    t.same(
      score(podWithImages(["nginx:1.25"]), [containerd, empty, empty], fill),
      [14, 0, 0],
      `short in the spec (fill=${fill})`,
    );
    t.same(
      score(podWithImages(["docker.io/library/nginx:1.25"]), [docker, empty, empty], fill),
      [14, 0, 0],
      `long in the spec (fill=${fill})`,
    );
  }
});

t.test("image names", async (t) => {
  t.equal(normalizedImageName("nginx"), "nginx:latest");
  t.equal(normalizedImageName("nginx:1.25"), "nginx:1.25");
  t.equal(normalizedImageName("localhost:5000/app"), "localhost:5000/app:latest");
  t.equal(normalizedImageName("nginx@sha256:abc"), "nginx@sha256:abc");
  t.equal(alternateImageName("nginx:latest"), "docker.io/library/nginx:latest");
  t.equal(alternateImageName("bitnami/redis:7"), "docker.io/bitnami/redis:7");
  t.equal(alternateImageName("docker.io/library/nginx:latest"), "nginx:latest");
  t.equal(alternateImageName("docker.io/bitnami/redis:7"), "bitnami/redis:7");
  t.equal(alternateImageName("gcr.io/pause:3.9"), undefined);
  t.equal(alternateImageName("localhost:5000/app:latest"), undefined);
  t.equal(alternateImageName("localhost/app:latest"), undefined);
});

t.test("calculatePriority clamps to the thresholds", async (t) => {
  t.equal(calculatePriority(0, 1), 0);
  t.equal(calculatePriority(23 * mb, 1), 0);
  t.equal(calculatePriority(1000 * mb, 1), 100);
  t.equal(calculatePriority(5000 * mb, 1), 100);
  t.equal(calculatePriority(5000 * mb, 2), 100);
  t.equal(calculatePriority(0, 0), 0, "a pod without containers");
});

t.test("ImageStates: the cache's image bookkeeping", async (t) => {
  const states = new ImageStates();
  const a = node403002000("a");
  const b = withImages("b", [{ names: ["gcr.io/40:latest"], sizeBytes: 40 * mb }]);
  const na = nodeInfo(a);
  const nb = nodeInfo(b);
  states.addNodeImageStates(a, na);
  states.addNodeImageStates(b, nb);
  t.equal(na.imageStates.get("gcr.io/40:latest")?.numNodes, 2);
  t.equal(na.imageStates.get("gcr.io/40:v1")?.numNodes, 1);
  t.equal(na.imageStates.get("gcr.io/2000:latest")?.size, 2000 * mb);
  t.equal(states.size, 5);
  states.removeNodeImageStates(b);
  t.equal(na.imageStates.get("gcr.io/40:latest")?.numNodes, 1, "counts are live in every NodeInfo");
  states.removeNodeImageStates(a);
  t.equal(states.size, 0, "an image no node has is dropped");
});
