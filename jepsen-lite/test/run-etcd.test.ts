/**
 * End to end against the reference: a 20-second run with every fault against a 3-member cluster
 * of real etcd (/usr/bin/etcd) must be valid: the checkers do not flag a correct store.
 */
import { existsSync } from "node:fs";
import { validRunTest } from "./run-helper.js";

const etcdBinary = "/usr/bin/etcd";
validRunTest(
  "etcd",
  existsSync(etcdBinary) ? undefined : `${etcdBinary} is missing (apt-get install etcd-server)`,
);
