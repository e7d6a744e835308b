/**
 * A minimal busybox OCI image layout tarball for runtime tests, made with the system tar
 * (src/image/ has the real builder). One uncompressed layer: /bin/busybox and applet links.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const APPLETS = [
  "sh",
  "sleep",
  "echo",
  "cat",
  "head",
  "tr",
  "hostname",
  "env",
  "true",
  "false",
  "printf",
  "ls",
];

async function blob(dir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash("sha256").update(data).digest("hex");
  await writeFile(join(dir, "blobs", "sha256", hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** Writes `<dir>/busybox.tar` tagged `ref` and returns its path. */
export async function buildBusyboxImage(dir: string, ref: string, busybox = "/bin/busybox"): Promise<string> {
  const rootfs = join(dir, "rootfs");
  const layout = join(dir, "layout");
  for (const d of ["bin", "tmp", "proc", "sys", "dev", "etc"])
    await mkdir(join(rootfs, d), { recursive: true });
  await mkdir(join(layout, "blobs", "sha256"), { recursive: true });
  await copyFile(busybox, join(rootfs, "bin", "busybox"));
  for (const a of APPLETS) await symlink("busybox", join(rootfs, "bin", a));
  const layerPath = join(dir, "layer.tar");
  await run("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", rootfs, "-cf", layerPath, "."]);
  const layerData = await readFile(layerPath);
  const layer = await blob(layout, layerData);
  const config = await blob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Env: ["PATH=/bin"], Cmd: ["sh"] },
        rootfs: { type: "layers", diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = await blob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
      }),
    ),
  );
  await writeFile(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "org.opencontainers.image.ref.name": ref },
        },
      ],
    }),
  );
  await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const out = join(dir, "busybox.tar");
  await run("tar", ["-C", layout, "-cf", `${out}.tmp`, "."]);
  await rename(`${out}.tmp`, out);
  return out;
}
