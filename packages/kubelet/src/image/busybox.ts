/**
 * The busybox image every Skiff node has without a registry: Debian busybox-static's one static
 * binary plus a symlink per applet, built into an OCI archive under `skiff.local/busybox:latest`.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildImage } from "./oci.js";

export const busyboxImageRef = "skiff.local/busybox:latest";
/** The archive's file name inside an images directory. */
export const busyboxImageFile = "busybox.tar";
/** Bumped when the rootfs or image layout changes, so existing archives are rebuilt. */
const busyboxImageVersion = 1;

const busyboxCandidates = ["/bin/busybox", "/usr/bin/busybox"];

/** The first static busybox binary on this machine, or undefined. */
export function findStaticBusybox(candidates: readonly string[] = busyboxCandidates): string | undefined {
  return candidates.find((p) => existsSync(p) && isStaticElf(p));
}

/**
 * True for an ELF executable without a PT_INTERP program header (no dynamic loader): a dynamic
 * busybox would not run in an image that has no /lib.
 */
export function isStaticElf(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const eh = Buffer.alloc(64);
    if (readSync(fd, eh, 0, 64, 0) < 64 || eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2) return false;
    const phoff = Number(eh.readBigUInt64LE(32));
    const phentsize = eh.readUInt16LE(54);
    const phnum = eh.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

export interface BusyboxRootfsOptions {
  /** The static busybox binary; default: the first of /bin/busybox, /usr/bin/busybox that is static. */
  busybox?: string;
}

/**
 * Fills `dir` with a busybox root filesystem: /bin/busybox, one symlink per applet where
 * `busybox --list-full` puts it, /etc/passwd and /etc/group (root, nobody), a default /etc/hosts
 * (the kubelet mounts the pod's over it), /tmp (1777), /root, and the mount points /proc, /sys,
 * /dev.
 */
export function busyboxRootfs(dir: string, opts: BusyboxRootfsOptions = {}): void {
  const busybox = opts.busybox ?? findStaticBusybox();
  if (busybox === undefined) {
    throw new Error(
      `no static busybox found (tried ${busyboxCandidates.join(", ")}; install busybox-static)`,
    );
  }
  const applets = execFileSync(busybox, ["--list-full"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("/") && !l.includes(".."));
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "proc", "sys", "dev", "var"]) {
    mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  }
  chmodSync(join(dir, "root"), 0o700);
  mkdirSync(join(dir, "tmp"), { recursive: true });
  chmodSync(join(dir, "tmp"), 0o1777);
  copyFileSync(busybox, join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const applet of applets) {
    if (applet === "bin/busybox") continue;
    const link = join(dir, applet);
    mkdirSync(dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync("/bin/busybox", link);
  }
  const files: [string, string][] = [
    ["etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"],
    ["etc/group", "root:x:0:\nnogroup:x:65534:\n"],
    ["etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"],
  ];
  for (const [path, text] of files) writeFileSync(join(dir, path), text, { mode: 0o644 });
}

export interface EnsureBusyboxImageOptions extends BusyboxRootfsOptions {
  ref?: string;
}

/**
 * Builds the busybox image archive into `imagesDir` unless one built from the same binary by
 * this version of the builder is already there (a small `.key` file beside it records which).
 * Returns the archive's path.
 */
export function ensureBusyboxImage(imagesDir: string, opts: EnsureBusyboxImageOptions = {}): string {
  const busybox = opts.busybox ?? findStaticBusybox();
  if (busybox === undefined) {
    throw new Error(
      `no static busybox found (tried ${busyboxCandidates.join(", ")}; install busybox-static)`,
    );
  }
  const ref = opts.ref ?? busyboxImageRef;
  const file = join(imagesDir, busyboxImageFile);
  const keyFile = `${file}.key`;
  const key = JSON.stringify({
    version: busyboxImageVersion,
    ref,
    busybox: createHash("sha256").update(readFileSync(busybox)).digest("hex"),
  });
  if (existsSync(file) && existsSync(keyFile) && readFileSync(keyFile, "utf8") === key) return file;
  mkdirSync(imagesDir, { recursive: true });
  const rootfs = mkdtempSync(join(tmpdir(), "skiff-busybox-rootfs-"));
  try {
    busyboxRootfs(rootfs, { busybox });
    buildImage({ rootfs, ref, out: file, config: { Cmd: ["sh"] } });
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  writeFileSync(keyFile, key);
  return file;
}
