/**
 * Compliance output-rules probe: try to get a (fake, well-formed) credential out of the host
 * through every SDK channel — emit, log, and an http.fetch body to the URL in Deno.args[0] —
 * then say which calls were refused. The probe knows the credential the same way.
 */
import { emit, http, log } from "../../../sdk/mod.ts";

const secret = "ghp_" + "WardenComplianceProbe0".repeat(2).slice(0, 36);
const refused: string[] = [];
const attempt = async (what: string, f: () => Promise<unknown>) => {
  try {
    await f();
  } catch {
    refused.push(what);
  }
};
await attempt("emit", () => emit({ report: "done", token: secret }));
await attempt("log", () => log(`using ${secret}`));
await attempt("http", () => http.fetch(Deno.args[0], { method: "POST", body: `t=${secret}` }));
await attempt("summary", () => emit({ refused }));
