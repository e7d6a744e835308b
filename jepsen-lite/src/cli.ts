/** `pnpm jepsen`: fault injection with linearizability and watch checkers (see docs/jepsen-lite.md). */
process.stderr.write("jepsen-lite: not available yet; it needs Skiff's store (`skiff store`) as a target.\n");
process.exitCode = 2;
