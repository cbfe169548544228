/** Checks on the paths operators name in flags, before anything is created or started. */
import { FileError, fsProblem } from "./runner.ts";

/**
 * `path` must be a directory (or, with `mayBeAbsent`, not exist yet); else a {@link FileError}
 * naming the flag. `of` names the file whose directory this is, in the message.
 */
export function existingDir(
  path: string,
  flag: string,
  opts: { mayBeAbsent?: boolean; of?: string } = {},
): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && opts.mayBeAbsent) return;
    throw new FileError(
      opts.of ?? path,
      opts.of
        ? `its directory ${path} ${
          e instanceof Deno.errors.NotFound ? "does not exist" : fsProblem(e)
        }`
        : fsProblem(e),
      undefined,
      flag,
    );
  }
  if (!st.isDirectory) {
    throw new FileError(
      opts.of ?? path,
      opts.of ? `${path} is not a directory` : "not a directory",
      undefined,
      flag,
    );
  }
}

/** `path` can be opened for appending (created, 0600, when absent); else a FileError. */
export function writableFile(path: string, flag: string): void {
  try {
    Deno.openSync(path, { append: true, create: true, mode: 0o600 }).close();
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "its directory does not exist" : fsProblem(e);
    throw new FileError(path, `cannot write: ${why}`, undefined, flag);
  }
}
