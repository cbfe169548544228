/**
 * `deno task approvals list | approve <id> | deny <id>` against a running host's control plane
 * ($WARDEN_API, default http://127.0.0.1:7420; token from $WARDEN_TOKEN or <warden home>/api-token).
 */
import { join } from "node:path";
import { wardenHome } from "../state.ts";

const USAGE = "usage: deno task approvals list | approve <id> | deny <id>";
const api = Deno.env.get("WARDEN_API") ?? "http://127.0.0.1:7420";

async function main(): Promise<number> {
  const [cmd, id, ...rest] = Deno.args;
  if (
    !["list", "approve", "deny"].includes(cmd) || (cmd !== "list" && !id) || rest.length ||
    (cmd === "list" && id)
  ) {
    console.error(USAGE);
    return 2;
  }
  let token = Deno.env.get("WARDEN_TOKEN");
  try {
    token ??= Deno.readTextFileSync(join(wardenHome(), "api-token")).trim();
  } catch {
    console.error(
      "no token: set WARDEN_TOKEN or start `deno task host` (it writes <warden home>/api-token)",
    );
    return 1;
  }
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  let res: Response;
  try {
    res = cmd === "list"
      ? await fetch(`${api}/api/approvals`, { headers })
      : await fetch(`${api}/api/approvals/${encodeURIComponent(id)}/${cmd}`, {
        method: "POST",
        headers,
        body: "{}",
      });
  } catch (e) {
    console.error(`${api}: ${(e as Error).message}`);
    return 1;
  }
  const body = await res.json();
  if (!res.ok) {
    console.error(`${res.status}: ${body.error}`);
    return 1;
  }
  if (cmd === "list") {
    if (body.length === 0) console.log("no pending approvals");
    for (const p of body) {
      console.log(
        `${p.id}  ${p.agent.name}  ${p.action} ${p.resource}  (${p.reason}; expires ${p.expiresAt})`,
      );
    }
  } else console.log(`${cmd === "approve" ? "approved" : "denied"} ${id}`);
  return 0;
}

Deno.exit(await main());
