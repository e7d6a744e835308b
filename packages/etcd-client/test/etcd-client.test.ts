import { existsSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import {
  closeEtcdClients,
  etcdClients,
  etcdServiceNames,
  etcdServices,
  protoDir,
  unaryCall,
} from "../src/index.js";

// The wire itself is proved against a real etcd in @skiff/store's grpc-wire test; here, that the
// package finds its protos wherever it runs from and builds a client per service.
t.test("the protos load from the package and give the five etcdserverpb services", async (t) => {
  t.ok(existsSync(join(protoDir, "etcdserverpb", "rpc.proto")), `rpc.proto under ${protoDir}`);
  const services = etcdServices();
  t.same(Object.keys(services).sort(), [...etcdServiceNames].sort());
  t.ok("Range" in services.KV.service, "KV.Range is defined");
  t.equal(etcdServices(), services, "loaded once");
});

t.test("a client per service; an unknown method is refused without a call", async (t) => {
  const clients = etcdClients("127.0.0.1:1");
  t.teardown(() => closeEtcdClients(clients));
  t.same(Object.keys(clients).sort(), [...etcdServiceNames].sort());
  await t.rejects(unaryCall(clients.KV, "Nope", {}), /no method Nope/);
  await t.rejects(
    unaryCall(clients.KV, "Range", { key: Buffer.from("k") }, 200),
    /.+/,
    "no server: an error",
  );
});
