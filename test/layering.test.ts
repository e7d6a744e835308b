/**
 * The layering rule of docs/architecture.md, checked on every import of every TypeScript file:
 * a package's src/ imports only the workspace packages below it (and declares them in its
 * package.json); tests and tools may use any workspace package, but only through its public
 * exports; nothing reaches into another package's files by a relative path (the repository's
 * own files, such as scripts/, are not a package's). The four components
 * (scheduler, controllers, kubelet, proxy) talk to the rest only through the API.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Workspace packages each package's src/ may import. Anything not listed may import nothing. */
export const allowed: Readonly<Record<string, readonly string[]>> = {
  "@skiff/raft": [],
  "@skiff/component-base": [],
  "@skiff/testkit": [],
  "@skiff/etcd-client": [],
  "@skiff/store": ["@skiff/raft", "@skiff/component-base", "@skiff/etcd-client"],
  "@skiff/api": [],
  "@skiff/client": ["@skiff/api", "@skiff/component-base"],
  "@skiff/apiserver": ["@skiff/api", "@skiff/component-base", "@skiff/etcd-client", "@skiff/store"],
  "@skiff/scheduler": ["@skiff/client", "@skiff/api", "@skiff/component-base"],
  "@skiff/controllers": ["@skiff/client", "@skiff/api", "@skiff/component-base"],
  "@skiff/kubelet": ["@skiff/client", "@skiff/api", "@skiff/component-base"],
  "@skiff/proxy": ["@skiff/client", "@skiff/api", "@skiff/component-base"],
  "@skiff/hollow-node": ["@skiff/client", "@skiff/api", "@skiff/component-base"],
  "@skiff/cli": ["*"],
  "@skiff/bench": ["*"],
  "@skiff/jepsen-lite": ["*"],
};

/** The API server reaches the store's own code in exactly one module: the one that embeds it. */
const storeInApiserver = "packages/apiserver/src/storage/embedded.ts";

interface Pkg {
  name: string;
  dir: string;
  deps: Set<string>;
  devDeps: Set<string>;
  exports: Set<string>;
}

function workspacePackages(): Pkg[] {
  const dirs = [
    ...readdirSync(join(root, "packages")).map((d) => join(root, "packages", d)),
    join(root, "bench"),
    join(root, "jepsen-lite"),
  ];
  return dirs
    .filter((d) => statSync(join(d, "package.json"), { throwIfNoEntry: false }) !== undefined)
    .map((dir) => {
      const j = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name: string;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
        exports?: Record<string, unknown>;
      };
      return {
        name: j.name,
        dir,
        deps: new Set(Object.keys(j.dependencies ?? {})),
        devDeps: new Set(Object.keys(j.devDependencies ?? {})),
        exports: new Set(Object.keys(j.exports ?? {})),
      };
    });
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name === "dist") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Module specifiers of static imports, re-exports and dynamic imports with a literal argument. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\bimport\.meta\.resolve\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1] as string);
  return out;
}

/**
 * Relative path strings in a file (`new URL("../x", import.meta.url)`, a ternary between two
 * paths, a path joined later): any that resolves into another package is a reach by path.
 */
export function urlPathsOf(source: string): string[] {
  return [...source.matchAll(/["'`](\.{1,2}\/[^"'`\s$]*)["'`]/g)].map((m) => m[1] as string);
}

const packages = workspacePackages();
const byName = new Map(packages.map((p) => [p.name, p]));

/** The workspace package whose folder holds `path`, if any. */
function ownerOf(path: string): Pkg | undefined {
  return packages.find((p) => path === p.dir || path.startsWith(p.dir + sep));
}

function packageOf(specifier: string): { name: string; subpath: string } | undefined {
  const m = /^(@skiff\/[^/]+)(\/.*)?$/.exec(specifier);
  if (m === null) return undefined;
  return { name: m[1] as string, subpath: m[2] === undefined ? "." : `.${m[2]}` };
}

t.test("every package is placed in the layering table", async (t) => {
  for (const p of packages) t.ok(allowed[p.name] !== undefined, `${p.name} has a row in the table`);
});

t.test("imports follow the layers; no file reaches into another package by path", async (t) => {
  const problems: string[] = [];
  for (const p of packages) {
    const rule = allowed[p.name] ?? [];
    for (const file of tsFiles(p.dir)) {
      const rel = relative(root, file).split(sep).join("/");
      const inSrc = rel.startsWith(`${relative(root, p.dir).split(sep).join("/")}/src/`);
      const source = readFileSync(file, "utf8");
      for (const spec of importsOf(source)) {
        // Relative imports are checked with every other relative path below.
        const dep = packageOf(spec);
        if (dep === undefined) continue;
        if (dep.name === p.name) {
          if (inSrc) problems.push(`${rel}: imports its own package by name (${spec}); use a relative path`);
          continue;
        }
        const target = byName.get(dep.name);
        if (target === undefined) {
          problems.push(`${rel}: imports ${spec}, which is not a workspace package`);
          continue;
        }
        if (!target.exports.has(dep.subpath))
          problems.push(`${rel}: imports ${spec}, which ${dep.name} does not export`);
        if (inSrc) {
          if (!rule.includes("*") && !rule.includes(dep.name))
            problems.push(`${rel}: ${p.name} may not import ${dep.name} (docs/architecture.md, layers)`);
          if (!p.deps.has(dep.name))
            problems.push(`${rel}: imports ${dep.name}, not in ${p.name}'s dependencies`);
          if (p.name === "@skiff/apiserver" && dep.name === "@skiff/store" && rel !== storeInApiserver)
            problems.push(`${rel}: only ${storeInApiserver} may import @skiff/store`);
        } else if (!p.deps.has(dep.name) && !p.devDeps.has(dep.name))
          problems.push(`${rel}: imports ${dep.name}, not in ${p.name}'s dependencies or devDependencies`);
      }
      for (const u of urlPathsOf(source)) {
        const owner = ownerOf(resolve(dirname(file), u));
        if (owner !== undefined && owner !== p)
          problems.push(`${rel}: reaches ${u}, a file of ${owner.name} (use the package's exports)`);
      }
    }
  }
  t.same(problems, [], problems.join("\n"));
});

t.test("simulated implementations stay behind ./sim, out of the production exports", async (t) => {
  for (const p of packages) {
    const index = join(p.dir, "src", "index.ts");
    if (statSync(index, { throwIfNoEntry: false }) === undefined) continue;
    const sims = [...readFileSync(index, "utf8").matchAll(/\bSim[A-Z]\w*/g)].map((m) => m[0]);
    t.same(sims, [], `${p.name}'s main export has no simulated implementation`);
  }
});

t.test("the checker itself finds imports of every form", async (t) => {
  const src = [
    'import { a } from "@skiff/store";',
    'import type { B } from "../x.js";',
    "import {\n  c,\n  d,\n} from '@skiff/api';",
    'export { e } from "./e.js";',
    'import "./side-effect.js";',
    'const m = await import("@skiff/apiserver");',
    'const bin = import.meta.resolve("@skiff/cli/bin");',
    'const main = new URL("../../packages/store/dist/member/main.js", import.meta.url);',
  ].join("\n");
  t.same(importsOf(src).sort(), [
    "../x.js",
    "./e.js",
    "./side-effect.js",
    "@skiff/api",
    "@skiff/apiserver",
    "@skiff/cli/bin",
    "@skiff/store",
  ]);
  t.same(urlPathsOf(src), [
    "../x.js",
    "./e.js",
    "./side-effect.js",
    "../../packages/store/dist/member/main.js",
  ]);
});
