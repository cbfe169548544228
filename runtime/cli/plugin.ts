/**
 * `deno task plugin` — signed plugin packaging and the plugin trust store.
 *
 *   keygen <name> [--keystore DIR]              create/load a publisher key, print its did
 *   sign <dir> --key <name> [--keystore DIR]    hash files into plugin.json, write plugin.sig
 *   verify <dir>                                check signature, trust, revocations, files
 *   install <dir> [--ring N]                    verify and copy into <state>/plugins/installed
 *   list                                        installed plugins
 *   remove <name>                               uninstall
 *   trust <did> [--name N]                      add a publisher to the keyring
 *   revoke <did|name@version>                   revoke a key or one release
 *
 * `--state DIR` (default: the warden home) holds `plugins/`; the keystore defaults to
 * `<state>/keys`. Exit 0 on success, 1 on a refusal, 2 on a usage error. Errors are one line.
 */
import { CliError, type CliSpec, command, type Ctx, runCli, UsageError } from "./runner.ts";
import { join } from "node:path";
import { PluginError } from "../../governance/plugins/mod.ts";
import type { Ring } from "../../governance/rings/mod.ts";
import { Keystore } from "../identity/keystore.ts";
import { PluginStore, signPluginFolder } from "../plugins/mod.ts";
import { wardenHome } from "../state.ts";

const NOTES =
  `options: --state DIR (default: the warden home); --keystore DIR (default: <state>/keys)
sign uses an existing key: create it first with \`plugin keygen <name>\``;

const shared = { state: { type: "string" } } as const;
const withKeys = { ...shared, keystore: { type: "string" } } as const;
type O = { state?: string; keystore?: string; key?: string; ring?: string; name?: string };

const storeOf = (o: O) => new PluginStore(o.state ?? wardenHome());
const keystoreOf = (o: O) =>
  new Keystore(
    o.keystore ?? join(o.state ?? wardenHome(), "keys"),
    Deno.env.get("WARDEN_KEY_PASSPHRASE"),
  );

/** A plugin refusal is one line (exit 1). */
async function refusing(f: () => Promise<number> | number): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof PluginError) throw new CliError(e.message);
    throw e;
  }
}

type C = Ctx<Record<string, { type: "string" }>>;
const dir = { inDir: "plugin.json" } as const;

/** \`deno task plugin\`. */
export const spec: CliSpec = {
  name: "plugin",
  notes: NOTES,
  subcommands: {
    keygen: command({
      args: "<name> [--keystore DIR]",
      options: withKeys,
      positionals: [1, 1],
      main: async ({ values: o, positionals: [name] }: C) => {
        console.log((await keystoreOf(o).signer(name)).did);
        return 0;
      },
    }),
    sign: command({
      args: "<dir> --key <name> [--keystore DIR]",
      options: { ...withKeys, key: { type: "string" } },
      positionals: [1, 1],
      main: ({ values: o, positionals: [folder] }: C) =>
        refusing(async () => {
          if (o.key === undefined) throw new UsageError("--key <name> is required");
          const keys = keystoreOf(o);
          if (!keys.has(o.key)) {
            throw new CliError(
              `--key ${o.key}: no such key in ${keys.dir} (create it with \`deno task plugin keygen ${o.key}\`)`,
            );
          }
          const m = await signPluginFolder(folder, await keys.signer(o.key));
          console.log(
            `signed ${m.name}@${m.version} (${
              Object.keys(m.files).length
            } files) as ${m.publisher}`,
          );
          return 0;
        }),
    }),
    verify: command({
      args: "<dir>",
      options: shared,
      positionals: [1, 1],
      files: [{ ...dir, args: (p) => [p] }],
      main: ({ values: o, positionals: [folder] }: C) =>
        refusing(async () => {
          const v = await storeOf(o).verify(folder);
          console.log(
            `ok: ${v.manifest.name}@${v.manifest.version} signed by ${v.manifest.publisher} (${v.publisherName}), ${
              Object.keys(v.manifest.files).length
            } files intact`,
          );
          return 0;
        }),
    }),
    install: command({
      args: "<dir> [--ring N]",
      options: { ...shared, ring: { type: "string" } },
      positionals: [1, 1],
      files: [{ ...dir, args: (p) => [p] }],
      main: ({ values: o, positionals: [folder] }: C) =>
        refusing(async () => {
          let ring: Ring | undefined;
          if (o.ring !== undefined) {
            if (!/^[0-3]$/.test(o.ring)) throw new UsageError(`--ring must be 0, 1, 2 or 3`);
            ring = Number(o.ring) as Ring;
          }
          const { name, record } = await storeOf(o).install(folder, { ring });
          console.log(`installed ${name}@${record.version} at ring ${record.ring}`);
          return 0;
        }),
    }),
    list: command({
      options: shared,
      main: ({ values: o }: C) =>
        refusing(() => {
          const index = storeOf(o).installed();
          for (const name of Object.keys(index).sort()) {
            const r = index[name];
            console.log(`${name}\t${r.version}\tring ${r.ring}\t${r.publisher}\t${r.installedAt}`);
          }
          return 0;
        }),
    }),
    remove: command({
      args: "<name>",
      options: shared,
      positionals: [1, 1],
      main: ({ values: o, positionals: [name] }: C) =>
        refusing(() => {
          storeOf(o).remove(name);
          console.log(`removed ${name}`);
          return 0;
        }),
    }),
    trust: command({
      args: "<did> [--name N]",
      options: { ...shared, name: { type: "string" } },
      positionals: [1, 1],
      main: ({ values: o, positionals: [did] }: C) =>
        refusing(() => {
          storeOf(o).trust(did, o.name ?? did);
          console.log(`trusted ${did}${o.name ? ` (${o.name})` : ""}`);
          return 0;
        }),
    }),
    revoke: command({
      args: "<did|name@version>",
      options: shared,
      positionals: [1, 1],
      main: ({ values: o, positionals: [what] }: C) =>
        refusing(() => {
          const kind = storeOf(o).revoke(what);
          console.log(`revoked ${kind} ${what}`);
          return 0;
        }),
    }),
  },
};

if (import.meta.main) await runCli(spec);
