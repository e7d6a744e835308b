/**
 * Compatibility with a Kubernetes client the project did not write: Debian's python3-kubernetes.
 * One `skiff server` is started in this process on a new data directory; every test_*.py file in
 * test/python/ runs against it with /usr/bin/python3 (unittest, verbose), and each of its test
 * cases becomes one assertion here (run.py prints one JSON line per case). The expectations in those files are kube-apiserver 1.32's.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import type { KubeApiServer } from "../src/kube-apiserver.js";
import { startServer } from "../src/main.js";
import { controllersFor, type RunningControllers } from "./controller-manager.js";

const PYTHON = "/usr/bin/python3";
const here = join(dirname(fileURLToPath(import.meta.url)), "python");
const inCI = process.env.CI === "true" || process.env.CI === "1";

function clientMissing(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import kubernetes"], { encoding: "utf8" });
  if (r.error !== undefined) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `python3-kubernetes is not installed (${r.stderr.trim().split("\n").at(-1)})`;
  return undefined;
}

interface CaseResult {
  case: string;
  outcome: "ok" | "fail" | "error" | "skip";
  detail: string;
}

/** The JSON lines run.py prints, one per test case. */
function results(stdout: string): CaseResult[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as CaseResult);
}

async function main(): Promise<void> {
  const missing = clientMissing();
  if (missing !== undefined) {
    if (inCI) t.fail(`CI must run the python3-kubernetes suite: ${missing}`);
    else t.skip(`skipped: ${missing} (node scripts/setup.mjs installs it)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "skiff-python-"));
  const kubeconfig = join(dir, "kubeconfig");
  mkdirSync(join(dir, "home"));
  let running: KubeApiServer | undefined;
  let controllers: RunningControllers | undefined;
  t.teardown(async () => {
    await controllers?.stop();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  running = await startServer(
    [
      ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      ...["--write-kubeconfig", kubeconfig],
    ],
    () => undefined,
  );
  // As `skiff server`: the controller manager's namespace controllers beside the API server.
  controllers = await controllersFor(kubeconfig);
  const files = readdirSync(here).filter((f) => /^test_\w+\.py$/.test(f));
  t.ok(files.length > 0, "there are python test files");
  for (const file of files.sort()) {
    await t.test(file, async (t) => {
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          PYTHON,
          ["run.py", file.replace(/\.py$/, "")],
          {
            cwd: here,
            env: {
              ...process.env,
              KUBECONFIG: kubeconfig,
              HOME: join(dir, "home"),
              PYTHONDONTWRITEBYTECODE: "1",
            },
            timeout: 240_000,
            maxBuffer: 16 * 1024 * 1024,
            encoding: "utf8",
          },
          (err, stdout, stderr) =>
            resolve({
              code: err === null ? 0 : typeof err.code === "number" ? err.code : -1,
              stdout,
              stderr,
            }),
        ),
      );
      const cases = results(r.stdout);
      t.ok(cases.length > 0, `${file} ran test cases`, { stderr: r.stderr.slice(-4000) });
      for (const c of cases) {
        if (c.outcome === "skip") t.comment(`${c.case}: skipped: ${c.detail}`);
        else t.equal(c.outcome, "ok", c.case, { detail: c.detail });
      }
      t.equal(r.code, 0, `${file} exits 0`, { stderr: r.stderr.slice(-8000) });
    });
  }
}

await main();
