/**
 * Builds an OCI image layout archive (image-spec's "image layout": oci-layout, index.json,
 * blobs/sha256/...) from a root filesystem directory: one gzip layer, an image config and a
 * manifest, named in index.json so that `ctr images import` creates the image under its full
 * reference. No registry is reachable where the agent runs, so this is how images get in.
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { TarWriter } from "./tar.js";

export const MediaTypes = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** The annotation containerd's importer reads first for an image's name (images.AnnotationImageName). */
export const containerdImageNameAnnotation = "io.containerd.image.name";
/** image-spec's ref name annotation (ocispec.AnnotationRefName). */
export const ociRefNameAnnotation = "org.opencontainers.image.ref.name";

/** The parts of an image config's `config` object the kubelet's containers use. */
export interface ImageRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface BuildImageOptions {
  /** The root filesystem directory to put in the layer. */
  rootfs: string;
  /** Full reference, e.g. "skiff.local/busybox:latest". */
  ref: string;
  config?: ImageRunConfig;
  /** The archive to write (replaced atomically). */
  out: string;
}

export interface BuiltImage {
  ref: string;
  /** The manifest digest ("sha256:..."), which containerd shows as the image's digest. */
  manifestDigest: string;
  configDigest: string;
  /** The uncompressed layer's digest: the config's rootfs.diff_ids[0]. */
  diffId: string;
  file: string;
}

/** The PATH a container gets when the image says nothing, as Docker's and containerd's default. */
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** Writes `out`: an OCI image layout tarball of `rootfs` named `ref`. Same input, same bytes. */
export function buildImage(opts: BuildImageOptions): BuiltImage {
  const layerTar = layerFromDirectory(opts.rootfs);
  const diffId = `sha256:${sha256(layerTar)}`;
  // level 9 and node's gzip header (mtime 0) keep the compressed bytes stable for one zlib.
  const layer = gzipSync(layerTar, { level: 9 });
  const layerDigest = sha256(layer);

  const runConfig: ImageRunConfig = { ...opts.config };
  if (runConfig.Env === undefined || !runConfig.Env.some((e) => e.startsWith("PATH="))) {
    runConfig.Env = [defaultPath, ...(runConfig.Env ?? [])];
  }
  const config = Buffer.from(
    JSON.stringify({
      created: "1970-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      config: runConfig,
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created: "1970-01-01T00:00:00Z", created_by: "skiff image build" }],
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.manifest,
      config: { mediaType: MediaTypes.config, digest: `sha256:${configDigest}`, size: config.length },
      layers: [{ mediaType: MediaTypes.layerGzip, digest: `sha256:${layerDigest}`, size: layer.length }],
    }),
  );
  const manifestDigest = sha256(manifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.index,
      manifests: [
        {
          mediaType: MediaTypes.manifest,
          digest: `sha256:${manifestDigest}`,
          size: manifest.length,
          // containerd's importer names the image from io.containerd.image.name first, then from
          // ref.name; both carry the full reference so either reading gives the same name.
          annotations: {
            [containerdImageNameAnnotation]: opts.ref,
            [ociRefNameAnnotation]: opts.ref,
          },
          platform: { architecture: "amd64", os: "linux" },
        },
      ],
    }),
  );

  const fixed = { mtime: 0, uid: 0, gid: 0 };
  const tar = new TarWriter();
  tar.file("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }), { mode: 0o644, ...fixed });
  tar.directory("blobs", { mode: 0o755, ...fixed });
  tar.directory("blobs/sha256", { mode: 0o755, ...fixed });
  for (const [digest, blob] of [
    [layerDigest, layer],
    [configDigest, config],
    [manifestDigest, manifest],
  ] as const) {
    tar.file(`blobs/sha256/${digest}`, blob, { mode: 0o644, ...fixed });
  }
  tar.file("index.json", index, { mode: 0o644, ...fixed });
  const tmp = `${opts.out}.tmp-${process.pid}`;
  writeFileSync(tmp, tar.finish());
  renameSync(tmp, opts.out);
  return {
    ref: opts.ref,
    manifestDigest: `sha256:${manifestDigest}`,
    configDigest: `sha256:${configDigest}`,
    diffId,
    file: opts.out,
  };
}

/**
 * The layer tar of a directory: entries in byte order of their paths, owned by root, mtime 0.
 * Regular files keep their permission bits; hard links become copies; sockets, FIFOs and devices
 * are left out (a layer built by a non-root user could not have made them anyway).
 */
export function layerFromDirectory(root: string): Buffer {
  const tar = new TarWriter();
  const fixed = { mtime: 0, uid: 0, gid: 0 };
  const walk = (rel: string): void => {
    const names = readdirSync(join(root, rel)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const abs = join(root, path);
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        tar.directory(path, { mode: st.mode, ...fixed });
        walk(path);
      } else if (st.isSymbolicLink()) {
        tar.symlink(path, readlinkSync(abs), fixed);
      } else if (st.isFile()) {
        tar.file(path, readFileSync(abs), { mode: st.mode, ...fixed });
      }
    }
  };
  walk("");
  return tar.finish();
}
