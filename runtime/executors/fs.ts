/** Workspace file operations performed by the host for an agent. */
import { dirname, isAbsolute, join, normalize } from "node:path";
import { realPath } from "../broker/map.ts";

/** Largest file the SDK reads or writes. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Resolve an SDK path (relative to the workspace) to a real absolute path. */
export function resolveInWorkspace(workspace: string, path: string): string {
  const p = isAbsolute(path) ? normalize(path) : join(workspace, path);
  return realPath(p);
}

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root + "/");
}

/** Read a text file inside the workspace (the real path must stay inside). */
export async function readText(workspace: string, real: string): Promise<string> {
  if (!inside(real, workspace)) throw new Error(`${real} is outside the workspace`);
  const info = await Deno.stat(real);
  if (!info.isFile) throw new Error(`${real} is not a file`);
  if (info.size > MAX_FILE_BYTES) throw new Error(`${real} is larger than ${MAX_FILE_BYTES} bytes`);
  return await Deno.readTextFile(real);
}

/** Write a text file inside the workspace, creating parent directories. */
export async function writeText(workspace: string, real: string, text: string): Promise<void> {
  if (!inside(real, workspace)) throw new Error(`${real} is outside the workspace`);
  if (text.length > MAX_FILE_BYTES) throw new Error(`text is larger than ${MAX_FILE_BYTES} bytes`);
  await Deno.mkdir(dirname(real), { recursive: true });
  await Deno.writeTextFile(real, text);
}
