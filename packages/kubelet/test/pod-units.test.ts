import { FakeClock } from "@skiff/client";
import t from "tap";
import { Backoff, FakeRuntime, normalizeImage, podStatusPatch } from "../src/index.js";

t.test("Backoff: 10 s doubling to 300 s, reset after the container ran 10 minutes", async (t) => {
  const clock = new FakeClock(0);
  const b = new Backoff(clock);
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    b.next("k", clock.now());
    delays.push(b.get("k") / 1000);
  }
  t.same(delays, [10, 20, 40, 80, 160, 300, 300]);
  t.ok(b.isInBackOffSince("k", clock.now()));
  clock.step(10 * 60_000 + 1);
  b.next("k", clock.now());
  t.equal(b.get("k"), 10_000, "starts over");
});

t.test("status patch: changed fields, conditions by type with their order, uid", async (t) => {
  const old = {
    phase: "Pending",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "False" },
    ],
    podIP: "10.0.0.1",
  };
  const next = {
    phase: "Running",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "True" },
    ],
  };
  t.same(podStatusPatch("u1", old, next), {
    metadata: { uid: "u1" },
    status: {
      phase: "Running",
      "$setElementOrder/conditions": [{ type: "PodScheduled" }, { type: "Ready" }],
      conditions: [{ type: "Ready", status: "True" }],
      podIP: null,
    },
  });
  t.equal(podStatusPatch("u1", next, structuredClone(next)), undefined, "nothing to write");
});

t.test("image references normalize as containerd's", async (t) => {
  t.equal(normalizeImage("busybox"), "docker.io/library/busybox:latest");
  t.equal(normalizeImage("me/app:1"), "docker.io/me/app:1");
  t.equal(normalizeImage("skiff.local/busybox"), "skiff.local/busybox:latest");
  t.equal(normalizeImage("localhost:5000/x@sha256:ab"), "localhost:5000/x@sha256:ab");
});

t.test("FakeRuntime keeps the interface's promises", async (t) => {
  const rt = new FakeRuntime({ clock: new FakeClock(5) });
  const cfg = {
    id: "a".repeat(64),
    image: "img:1",
    args: [],
    env: [],
    mounts: [],
    labels: { x: "1" },
    logPath: "/l",
  };
  await t.rejects(rt.createContainer(cfg), /image/, "missing image");
  rt.addImage("img:1");
  await rt.createContainer(cfg);
  await t.rejects(rt.createContainer(cfg), /exists/, "duplicate id");
  await rt.startContainer(cfg.id);
  const exits: number[] = [];
  rt.onEvent((e) => {
    if (e.type === "exit") exits.push(e.exitCode);
  });
  await rt.signalContainer(cfg.id, "SIGTERM");
  await new Promise((r) => setImmediate(r));
  const s = await rt.containerStatus(cfg.id);
  t.match(s, { state: "exited", exitCode: 143, finishedAt: 5, labels: { x: "1" } });
  t.same(exits, [143]);
  await rt.removeContainer(cfg.id);
  await rt.removeContainer(cfg.id);
  t.same(await rt.listContainers(), [], "removed, idempotently");
});
