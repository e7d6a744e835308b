/**
 * End to end against the reference: a 10-second jepsen-lite run with the kill nemesis against a
 * 3-member cluster of real etcd (/usr/bin/etcd) must print `valid` last and exit 0.
 */
import { existsSync } from "node:fs";
import { killRunTest } from "./run-helper.js";

const etcdBinary = "/usr/bin/etcd";
killRunTest(
  "etcd",
  "kill nemesis against etcd: valid",
  existsSync(etcdBinary) ? undefined : `${etcdBinary} is missing (apt-get install etcd-server)`,
);
