/** Reading a plugin folder: its manifest, its signature and the sha-256 of every other file. */
import { join } from "node:path";
import { hex } from "../../governance/audit/merkle.ts";
import {
  isPluginPath,
  MANIFEST_FILE,
  PluginError,
  SIGNATURE_FILE,
} from "../../governance/plugins/mod.ts";

/** A plugin folder's contents as verification needs them. */
export interface PluginFolder {
  dir: string;
  manifestText: string | null;
  signatureText: string | null;
  /** "/"-separated relative path → sha-256 hex, for every file but plugin.json and plugin.sig. */
  fileHashes: Record<string, string>;
}

/** sha-256 of bytes, lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)));
}

function readOptional(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Every regular file under `dir` (relative "/" paths, sorted); refuses symlinks and specials. */
export function listFiles(dir: string, label = dir): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = rel ? join(dir, rel) : dir;
    for (const e of Deno.readDirSync(abs)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymlink) throw new PluginError("invalid-folder", label, `"${path}" is a symlink`);
      if (e.isDirectory) walk(path);
      else if (e.isFile) {
        if (!isPluginPath(path)) {
          throw new PluginError("invalid-folder", label, `unsupported file name "${path}"`);
        }
        out.push(path);
      } else throw new PluginError("invalid-folder", label, `"${path}" is not a regular file`);
    }
  };
  const st = Deno.lstatSync(dir);
  if (st.isSymlink || !st.isDirectory) {
    throw new PluginError("invalid-folder", label, `${dir} is not a directory`);
  }
  walk("");
  return out.sort();
}

/** Read a plugin folder. Throws `PluginError("invalid-folder")` when it cannot be read. */
export async function readPluginFolder(dir: string, label = dir): Promise<PluginFolder> {
  let files: string[];
  try {
    files = listFiles(dir, label);
  } catch (e) {
    if (e instanceof PluginError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new PluginError("invalid-folder", label, `no such folder ${dir}`);
    }
    throw new PluginError("invalid-folder", label, (e as Error).message);
  }
  const fileHashes: Record<string, string> = {};
  for (const f of files) {
    if (f === MANIFEST_FILE || f === SIGNATURE_FILE) continue;
    fileHashes[f] = await sha256Hex(Deno.readFileSync(join(dir, f)));
  }
  return {
    dir,
    manifestText: readOptional(join(dir, MANIFEST_FILE)),
    signatureText: readOptional(join(dir, SIGNATURE_FILE)),
    fileHashes,
  };
}
