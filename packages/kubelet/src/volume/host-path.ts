/**
 * hostPath's `type` check as kube's pkg/volume/hostpath checkType: DirectoryOrCreate makes a
 * 0755 directory (with parents), FileOrCreate an empty 0644 file (its directory must exist),
 * the others require what they name; "" checks nothing. Messages are kube's.
 */
import { type Stats, statSync } from "node:fs";
import { mkdir, open } from "node:fs/promises";

/** hostutil.GetFileType's names (stat follows symlinks, as kube's). */
function fileType(st: Stats): string {
  if (st.isDirectory()) return "Directory";
  if (st.isFile()) return "File";
  if (st.isSocket()) return "Socket";
  if (st.isCharacterDevice()) return "CharDevice";
  if (st.isBlockDevice()) return "BlockDevice";
  throw new Error("only recognise file, directory, socket, block device and character device");
}

const DESCRIPTIONS: Record<string, [string, string]> = {
  Directory: ["Directory", "directory"],
  File: ["File", "file"],
  Socket: ["Socket", "socket file"],
  CharDevice: ["CharDevice", "character device"],
  BlockDevice: ["BlockDevice", "block device"],
};

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function typeMatchedOrError(path: string, expected: string): void {
  const [want, description] = DESCRIPTIONS[expected] as [string, string];
  const st = statOrUndefined(path);
  if (st === undefined) throw new Error(`hostPath ${path} doesn't exist`);
  let actual: string;
  try {
    actual = fileType(st);
  } catch (e) {
    throw new Error(
      `hostPath type check failed, ${path} is not a ${description}, unable to determine its type: ${(e as Error).message}`,
    );
  }
  if (actual !== want)
    throw new Error(`hostPath type check failed: ${path} is not a ${description}, it's a ${actual}`);
}

/** checkType; resolves once the path is what `type` asks for. */
export async function checkHostPathType(path: string, type: string | undefined): Promise<void> {
  switch (type ?? "") {
    case "":
      return;
    case "DirectoryOrCreate":
      if (statOrUndefined(path) === undefined) {
        await mkdir(path, { recursive: true, mode: 0o755 });
        return;
      }
      return typeMatchedOrError(path, "Directory");
    case "FileOrCreate":
      if (statOrUndefined(path) === undefined) {
        await (await open(path, "a", 0o644)).close();
        return;
      }
      return typeMatchedOrError(path, "File");
    case "Directory":
    case "File":
    case "Socket":
    case "CharDevice":
    case "BlockDevice":
      return typeMatchedOrError(path, type as string);
    default:
      throw new Error(`${type} is an invalid volume type`);
  }
}
