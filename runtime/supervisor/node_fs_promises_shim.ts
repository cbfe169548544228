/**
 * What `import { … } from "node:fs/promises"` binds to in a Node-style agent (issue 19). The
 * compatible file refusals (node_fs_compat.ts) redirect every ES module import of
 * `node:fs/promises` (also spelled `fs/promises`) here, from the agent's own modules and from
 * npm packages alike. Each export is the patched entry of the same name of the
 * `node:fs/promises` module object (a refusal answered like the OS, everything else Deno's own
 * function), and `default` is that object. The names are exactly Deno 2.9.6's
 * (tests/compat/fs_named_test.ts holds them to it). Until the compatibility is installed every
 * binding is undefined: the bootstrap imports this module statically and installs it, in
 * "node" mode, before agent code runs.
 * @module
 */
import { exposeNamed } from "./node_fs_compat.ts";

let def: unknown;
export let {
  access,
  appendFile,
  chmod,
  chown,
  constants,
  copyFile,
  cp,
  glob,
  lchmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  mkdtempDisposable,
  open,
  opendir,
  readFile,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  statfs,
  symlink,
  truncate,
  unlink,
  utimes,
  watch,
  writeFile,
}: Record<string, unknown> = {};

exposeNamed("promises", (o) => {
  def = o;
  ({
    access,
    appendFile,
    chmod,
    chown,
    constants,
    copyFile,
    cp,
    glob,
    lchmod,
    lchown,
    link,
    lstat,
    lutimes,
    mkdir,
    mkdtemp,
    mkdtempDisposable,
    open,
    opendir,
    readFile,
    readdir,
    readlink,
    realpath,
    rename,
    rm,
    rmdir,
    stat,
    statfs,
    symlink,
    truncate,
    unlink,
    utimes,
    watch,
    writeFile,
  } = o);
});

export { def as default };
