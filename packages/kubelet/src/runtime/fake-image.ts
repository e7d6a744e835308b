/**
 * FakeRuntime's image side: it holds no image content, only what an import names. Image ids are
 * the manifest digests an OCI layout's index.json gives, as containerd reports them.
 */

/** A stable 64-hex string from a text (fake image ids). */
export function hex64(text: string): string {
  let h = 2166136261;
  let out = "";
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${round}:${text}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, 64);
}

/** One file's content from a ustar archive (512-byte headers, size in octal), if present. */
export function tarEntry(tar: Buffer, name: string): Buffer | undefined {
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const prefix = field(345, 155);
    const entryName = (prefix === "" ? "" : `${prefix}/`) + field(0, 100);
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    if (entryName.replace(/^\.\//, "") === name) return tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/**
 * The images an OCI image layout tarball names: each index.json manifest with containerd's or
 * OCI's ref-name annotation, as `ctr images import` names them.
 */
export function imagesInLayout(tar: Buffer, what: string): Array<{ ref: string; digest: string }> {
  const index = tarEntry(tar, "index.json");
  if (index === undefined) throw new Error(`${what}: not an OCI image layout (no index.json)`);
  const parsed = JSON.parse(index.toString("utf8")) as {
    manifests?: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const out: Array<{ ref: string; digest: string }> = [];
  for (const m of parsed.manifests ?? []) {
    const a = m.annotations ?? {};
    const ref = a["io.containerd.image.name"] ?? a["org.opencontainers.image.ref.name"];
    if (ref !== undefined) out.push({ ref, digest: m.digest });
  }
  return out;
}
