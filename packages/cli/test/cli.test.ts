import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";
import { commands, main, usage } from "../src/index.js";

function captureIO() {
  const io = {
    stdout: "",
    stderr: "",
    out(s: string) {
      io.stdout += s;
    },
    err(s: string) {
      io.stderr += s;
    },
  };
  return io;
}

t.test("--help lists every registered subcommand", async (t) => {
  const io = captureIO();
  t.equal(await main(["--help"], io), 0);
  for (const name of commands.keys()) t.match(io.stdout, new RegExp(`^  ${name}\\s`, "m"), `lists ${name}`);
  t.equal(io.stdout, usage());
});

t.test("no arguments prints usage and fails", async (t) => {
  const io = captureIO();
  t.equal(await main([], io), 1);
  t.match(io.stdout, /Usage:/);
});

t.test("an unknown command is an error naming it", async (t) => {
  const io = captureIO();
  t.equal(await main(["frobnicate"], io), 1);
  t.match(io.stderr, /unknown command "frobnicate"/);
  t.equal(io.stdout, "");
});

t.test("version prints the version", async (t) => {
  const io = captureIO();
  t.equal(await main(["version"], io), 0);
  t.match(io.stdout, /^skiff version \d+\.\d+\.\d+\n$/);
});

t.test("the installed bin runs --help from the build", async (t) => {
  const bin = fileURLToPath(new URL("../../../node_modules/.bin/skiff", import.meta.url));
  const { stdout } = await promisify(execFile)(bin, ["--help"]);
  t.match(stdout, /Commands:/);
  t.match(stdout, /version/);
});
