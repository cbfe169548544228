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
import { parseCli } from "./args.ts";
import { join } from "node:path";
import { PluginError } from "../../governance/plugins/mod.ts";
import type { Ring } from "../../governance/rings/mod.ts";
import { Keystore } from "../identity/keystore.ts";
import { PluginStore, signPluginFolder } from "../plugins/mod.ts";
import { wardenHome } from "../state.ts";

const USAGE = `usage: deno task plugin keygen <name> [--keystore DIR]
       deno task plugin sign <dir> --key <name> [--keystore DIR]
       deno task plugin verify <dir>
       deno task plugin install <dir> [--ring N]
       deno task plugin list
       deno task plugin remove <name>
       deno task plugin trust <did> [--name N]
       deno task plugin revoke <did|name@version>
options: --state DIR (default: the warden home)`;

class Usage extends Error {}

async function main(): Promise<number> {
  const parsed = parseCli({
    state: { type: "string" },
    keystore: { type: "string" },
    key: { type: "string" },
    ring: { type: "string" },
    name: { type: "string" },
  }, USAGE);
  if (!parsed) return 2;
  const { values: o, positionals: [cmd, arg, ...rest] } = parsed;
  const state = o.state ?? wardenHome();
  const store = new PluginStore(state);
  const keystore = () =>
    new Keystore(o.keystore ?? join(state, "keys"), Deno.env.get("WARDEN_KEY_PASSPHRASE"));
  const need = (ok: boolean) => {
    if (!ok || rest.length > 0) throw new Usage(`wrong arguments for "${cmd ?? ""}"`);
  };
  try {
    switch (cmd) {
      case "keygen": {
        need(arg !== undefined);
        console.log((await keystore().signer(arg)).did);
        return 0;
      }
      case "sign": {
        need(arg !== undefined && o.key !== undefined);
        const m = await signPluginFolder(arg, await keystore().signer(o.key!));
        console.log(
          `signed ${m.name}@${m.version} (${Object.keys(m.files).length} files) as ${m.publisher}`,
        );
        return 0;
      }
      case "verify": {
        need(arg !== undefined);
        const v = await store.verify(arg);
        console.log(
          `ok: ${v.manifest.name}@${v.manifest.version} signed by ${v.manifest.publisher} (${v.publisherName}), ${
            Object.keys(v.manifest.files).length
          } files intact`,
        );
        return 0;
      }
      case "install": {
        need(arg !== undefined);
        let ring: Ring | undefined;
        if (o.ring !== undefined) {
          if (!/^[0-3]$/.test(o.ring)) throw new Usage(`--ring must be 0, 1, 2 or 3`);
          ring = Number(o.ring) as Ring;
        }
        const { name, record } = await store.install(arg, { ring });
        console.log(`installed ${name}@${record.version} at ring ${record.ring}`);
        return 0;
      }
      case "list": {
        need(arg === undefined);
        const index = store.installed();
        for (const name of Object.keys(index).sort()) {
          const r = index[name];
          console.log(`${name}\t${r.version}\tring ${r.ring}\t${r.publisher}\t${r.installedAt}`);
        }
        return 0;
      }
      case "remove": {
        need(arg !== undefined);
        store.remove(arg);
        console.log(`removed ${arg}`);
        return 0;
      }
      case "trust": {
        need(arg !== undefined);
        store.trust(arg, o.name ?? arg);
        console.log(`trusted ${arg}${o.name ? ` (${o.name})` : ""}`);
        return 0;
      }
      case "revoke": {
        need(arg !== undefined);
        const kind = store.revoke(arg);
        console.log(`revoked ${kind} ${arg}`);
        return 0;
      }
      default:
        throw new Usage(cmd === undefined ? "no command" : `unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof Usage) {
      console.error(`${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof PluginError) {
      console.error(e.message);
      return 1;
    }
    console.error(`plugin ${cmd}: ${(e as Error).message}`);
    return 1;
  }
}

Deno.exit(await main());
