/**
 * `skiff image`: OCI image archives for nodes that reach no registry. `build` writes one from a
 * root filesystem directory, `busybox` writes the busybox image every node has, `import` loads
 * an archive into containerd with ctr (as `ctr images import`).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Command, CommandIO } from "./command.js";

const usage = `Usage:
  skiff image build --rootfs DIR --tag REF [-o FILE]   an OCI image archive of DIR named REF
  skiff image busybox [-o FILE]                        the busybox image (skiff.local/busybox:latest)
  skiff image import FILE [--address SOCK] [--namespace NS]
                                                       ctr images import FILE into containerd

build and busybox write <ref with '/' and ':' as '_'>.tar in the current directory unless -o.
import uses containerd's socket /run/containerd/containerd.sock and namespace "default" unless told.
`;

/** A file name from an image reference: "skiff.local/busybox:latest" -> "skiff.local_busybox_latest.tar". */
export function archiveNameFor(ref: string): string {
  return `${ref.replace(/[^A-Za-z0-9._-]/g, "_")}.tar`;
}

export const imageCommand: Command = {
  name: "image",
  summary: "Build OCI image archives (build, busybox) and import them into containerd (import)",
  async run(args, io) {
    const [sub, ...rest] = args;
    try {
      switch (sub) {
        case "build":
          return await build(rest, io);
        case "busybox":
          return await busybox(rest, io);
        case "import":
          return await importArchive(rest, io);
        case undefined:
        case "-h":
        case "--help":
        case "help":
          io.out(usage);
          return sub === undefined ? 1 : 0;
        default:
          io.err(`skiff image: unknown subcommand "${sub}"\n${usage}`);
          return 1;
      }
    } catch (e) {
      io.err(`skiff image ${sub}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  },
};

async function build(args: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { rootfs: { type: "string" }, tag: { type: "string" }, output: { type: "string", short: "o" } },
  });
  if (values.rootfs === undefined || values.tag === undefined) {
    io.err(`skiff image build: --rootfs and --tag are required\n${usage}`);
    return 1;
  }
  if (!existsSync(values.rootfs)) throw new Error(`--rootfs ${values.rootfs}: no such directory`);
  const { buildImage } = await import("@skiff/kubelet");
  const out = resolve(values.output ?? archiveNameFor(values.tag));
  const built = buildImage({ rootfs: values.rootfs, ref: values.tag, out });
  io.out(`${built.ref} ${built.manifestDigest} ${out}\n`);
  return 0;
}

async function busybox(args: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { output: { type: "string", short: "o" } } });
  const { buildImage, busyboxImageRef, busyboxRootfs } = await import("@skiff/kubelet");
  const out = resolve(values.output ?? archiveNameFor(busyboxImageRef));
  const rootfs = mkdtempSync(join(tmpdir(), "skiff-busybox-rootfs-"));
  try {
    busyboxRootfs(rootfs);
    const built = buildImage({ rootfs, ref: busyboxImageRef, out, config: { Cmd: ["sh"] } });
    io.out(`${built.ref} ${built.manifestDigest} ${out}\n`);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  return 0;
}

async function importArchive(args: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { address: { type: "string", short: "a" }, namespace: { type: "string", short: "n" } },
  });
  const [file] = positionals;
  if (file === undefined || positionals.length > 1) {
    io.err(`skiff image import: one archive file expected\n${usage}`);
    return 1;
  }
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  const address = values.address ?? "/run/containerd/containerd.sock";
  if (!existsSync(address))
    throw new Error(`containerd socket ${address} does not exist (is containerd running?)`);
  const ctrArgs = [
    "-a",
    address,
    "-n",
    values.namespace ?? "default",
    "--connect-timeout",
    "5s",
    "images",
    "import",
    file,
  ];
  const r = await new Promise<{ code: number; stdout: string; stderr: string; missing: boolean }>((done) => {
    execFile("ctr", ctrArgs, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      done({ code, stdout, stderr, missing: err !== null && err.code === "ENOENT" });
    });
  });
  if (r.missing) throw new Error("ctr not found in PATH (install containerd)");
  if (r.code !== 0) {
    const why = r.stderr.trim();
    if (/failed to dial|connection refused|deadline exceeded/.test(why)) {
      throw new Error(`containerd at ${address} does not answer: ${why}`);
    }
    throw new Error(`ctr images import failed (exit ${r.code}): ${why}`);
  }
  io.out(r.stdout);
  return 0;
}
