/**
 * Compatible file refusals for Node-style code (issue 19). The broker refuses a path by making
 * Deno throw `NotCapable`, which no Node program expects: a library that probes an optional
 * file at load (`existsSync`, `statSync` in a `try` that checks `err.code`, `access`) dies.
 * Installed by the bootstrap before agent code runs, this makes every `node:fs` and
 * `node:fs/promises` entry point answer a refusal the way a real OS does:
 * - `existsSync` and `exists` answer `false`;
 * - every other function throws (or rejects, or calls back with) an `Error` with
 *   `code: "EACCES"`, `errno: -13`, `syscall`, `path` (the refused path) and the refusal as
 *   `cause`; streams emit that error.
 * The refusal itself is unchanged: the broker decided it and audited it as a deny. `Deno.*`
 * APIs keep throwing `NotCapable` (carrying `code: "EACCES"`, `errno` and `path` for a file
 * refusal: `refusalFields`).
 *
 * The module objects are patched in place: `require("fs")`, `require("fs/promises")`, default
 * imports and `fs.promises`. Named ESM imports and namespace imports are bindings no patch
 * reaches, so a `node:module` resolve hook sends every ESM import that resolves to `node:fs`
 * or `node:fs/promises` (whatever its spelling: `fs`, `node:fs`, `fs/promises`; from the
 * agent's modules and from npm packages, also ES modules loaded by `require`) to a module of
 * the same export names bound to the patched entries (node_fs_shim.ts,
 * node_fs_promises_shim.ts). `require` itself is never redirected: it gets the patched module
 * object, which packages such as graceful-fs patch further. The shims are loaded with the
 * bootstrap (its static imports, before the hook exists): a hook may only redirect to a module
 * already loaded, or `require` of an ES module that imports `node:fs` fails in Deno 2.9.
 * Nothing is widened: every path is still the broker's to decide, each call is Deno's own.
 * A refused read answered so is no violation unless a rule with a severity refused it (the
 * broker marks such an agent's reads `compatible`: `answeredCompatibly` in runtime/governor.ts).
 * This file has no static imports: the bootstrap imports it statically (no permission check)
 * and Deno's node modules are loaded only when it is installed.
 */

type Fn = (...args: unknown[]) => unknown;
type Obj = Record<string | symbol, unknown>;

/** Node's syscall names where they differ from the function's name. */
const SYSCALL: Record<string, string> = {
  readFile: "open",
  writeFile: "open",
  appendFile: "open",
  createReadStream: "open",
  createWriteStream: "open",
  readdir: "scandir",
  cp: "cp",
};

const EACCES = -13;

/**
 * The refused path a refusal names: the broker's reason (an `fs.*` path, or the file URL of a
 * refused read in the code tree, which the broker decides as `import`), or Deno's own message.
 */
function refusedPath(message: string): string | undefined {
  const m = /^Warden denied fs\.\w+ (\/.*?): /.exec(message) ??
    /^Requires (?:read|write) access to "([^"]*)"/.exec(message);
  if (m) return m[1];
  const url = /^Warden denied import (file:\/\/\/\S*?): /.exec(message)?.[1];
  if (url === undefined) return undefined;
  try {
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return undefined;
  }
}

function pathOf(refusal: Error, args: unknown[]): string | undefined {
  const named = refusedPath(refusal.message);
  if (named !== undefined) return named;
  const a = args[0];
  if (typeof a === "string") return a;
  if (a instanceof URL) return a.protocol === "file:" ? decodeURIComponent(a.pathname) : a.href;
  if (a instanceof Uint8Array) return new TextDecoder().decode(a);
  return undefined;
}

/** The OS-style error for a refusal (anything else is returned as it is). */
export function osError(e: unknown, fn: string, args: unknown[]): unknown {
  if (!(e instanceof Deno.errors.NotCapable)) return e;
  const base = fn.replace(/Sync$/, "");
  const syscall = SYSCALL[base] ?? base;
  const path = pathOf(e, args);
  const err = new Error(
    `EACCES: permission denied, ${syscall}${path === undefined ? "" : ` '${path}'`}`,
    { cause: e },
  ) as Error & { code: string; errno: number; syscall: string; path?: string };
  err.code = "EACCES";
  err.errno = EACCES;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

function isClass(name: string, f: unknown): boolean {
  return /^[A-Z]/.test(name) || (typeof f === "function" && /^class\b/.test(String(f)));
}

/** `f` answering refusals as OS errors: thrown, rejected, called back or emitted. */
function wrap(name: string, f: Fn): Fn {
  const sync = name.endsWith("Sync");
  const stream = name === "createReadStream" || name === "createWriteStream";
  const w = function (this: unknown, ...args: unknown[]) {
    const last = args.length - 1;
    const cb = args[last];
    if (!sync && typeof cb === "function") {
      args[last] = function (this: unknown, err: unknown, ...rest: unknown[]) {
        return (cb as Fn).call(this, osError(err, name, args), ...rest);
      };
    }
    let r: unknown;
    try {
      r = f.apply(this, args);
    } catch (e) {
      throw osError(e, name, args);
    }
    if (r instanceof Promise) return r.catch((e) => Promise.reject(osError(e, name, args)));
    if (stream && r && typeof (r as Obj).emit === "function") {
      const s = r as Obj & { emit: Fn };
      const emit = s.emit;
      s.emit = function (this: unknown, ev: unknown, ...rest: unknown[]) {
        if (ev === "error") rest[0] = osError(rest[0], name, args);
        return emit.call(this, ev, ...rest);
      };
    }
    return r;
  };
  Object.defineProperty(w, "name", { value: f.name });
  Object.defineProperty(w, "length", { value: f.length });
  for (const k of Reflect.ownKeys(f)) {
    if (k === "name" || k === "length" || k === "prototype") continue;
    const v = (f as unknown as Obj)[k];
    (w as unknown as Obj)[k] = typeof v === "function" && !isClass(String(k), v)
      ? wrap(name, v as Fn)
      : v;
  }
  return w;
}

function patchObject(o: Obj): void {
  for (const name of Object.keys(o)) {
    const f = o[name];
    if (typeof f !== "function" || name.startsWith("_") || isClass(name, f)) continue;
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (!d || !d.writable && !d.set) continue;
    o[name] = wrap(name, f as Fn);
  }
}

let installed = false;

type Sink = (module: Obj) => void;
const sinks: { fs?: Sink; promises?: Sink } = {};

/** A shim module's setter for its bindings (called by node_fs_shim.ts at load). */
export function exposeNamed(which: "fs" | "promises", set: Sink): void {
  sinks[which] = set;
}

const SHIMS: Record<string, string> = {
  "node:fs": new URL("./node_fs_shim.ts", import.meta.url).href,
  "node:fs/promises": new URL("./node_fs_promises_shim.ts", import.meta.url).href,
};

interface Resolved {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type Resolve = (spec: string, ctx: { conditions?: string[] }) => Resolved;

/** Patch the `node:fs` and `node:fs/promises` module objects (once per process). */
export async function installNodeFsCompat(): Promise<void> {
  if (installed) return;
  installed = true;
  const fs = (await import("node:fs")).default as unknown as Obj;
  const fsp = (await import("node:fs/promises")).default as unknown as Obj;
  const existsSync0 = fs.existsSync as Fn;
  patchObject(fs);
  if (fs.promises !== fsp) patchObject(fs.promises as Obj);
  patchObject(fsp);
  const access = fs.access as Fn;
  fs.existsSync = function existsSync(path: unknown): boolean {
    try {
      return existsSync0(path) === true;
    } catch {
      return false;
    }
  };
  const exists = function exists(path: unknown, cb: unknown): void {
    const done = typeof cb === "function" ? cb as (x: boolean) => void : () => {};
    try {
      access(path, (err: unknown) => done(!err));
    } catch {
      queueMicrotask(() => done(false));
    }
  };
  const custom = Symbol.for("nodejs.util.promisify.custom");
  Object.defineProperty(exists, custom, {
    value: (path: unknown) => new Promise((res) => exists(path, res)),
  });
  fs.exists = exists;
  refusalFields();
  if (!sinks.fs || !sinks.promises) throw new Error("node fs shims not loaded by the bootstrap");
  sinks.fs(fs);
  sinks.promises(fsp);
  const { registerHooks } = (await import("node:module")).default as unknown as {
    registerHooks(hooks: { resolve: (s: string, c: object, next: Resolve) => Resolved }): void;
  };
  // Every ES module import that resolves to node:fs or node:fs/promises, whatever spelled it
  // (and whoever: the agent's modules, npm packages, ES modules loaded by require), binds to
  // the shim; require (conditions without "import") keeps the patched module object.
  registerHooks({
    resolve(spec, ctx: { conditions?: string[] }, next) {
      const r = next(spec, ctx);
      const shim = SHIMS[r.url];
      return shim && ctx.conditions?.includes("import") ? { url: shim, shortCircuit: true } : r;
    },
  });
}

/**
 * In a Node-style agent `Deno.*` refusals stay NotCapable, but a file refusal carries the OS
 * fields Node code branches on — `code: "EACCES"`, `errno: -13` and the refused `path`.
 */
function refusalFields(): void {
  const proto = Deno.errors.NotCapable.prototype;
  const fileRefusal = (e: Error) => refusedPath(e.message) !== undefined;
  const field = (name: string, value: (e: Error) => unknown) =>
    Object.defineProperty(proto, name, {
      configurable: true,
      get(this: Error) {
        return fileRefusal(this) ? value(this) : undefined;
      },
      set(this: Error, v: unknown) {
        Object.defineProperty(this, name, { value: v, writable: true, configurable: true });
      },
    });
  field("code", () => "EACCES");
  field("errno", () => EACCES);
  field("path", (e) => refusedPath(e.message));
}
