/**
 * The egress proxy of one agent: the only way out of its network namespace. `startEgress`
 * serves a unix socket in the agent's private directory (the launcher's forwarder relays the
 * agent's `127.0.0.1:port` to it, see warden-sandbox.c `--egress`) and decides every request
 * there, as this agent, through the governor: HTTP and HTTPS (TLS terminated with the host's
 * egress CA) as `net.fetch` of the full URL and method — the same ask as the SDK's `http.fetch`
 * (`fetchAsk`) and the same request (`httpRequest`: no redirect followed, upstream certificate
 * verified), then checked against the policy's output rules on `http.request` like an SDK
 * request (runtime/outputs/http.ts: URL, headers and body; redacted or refused) — and any
 * other tunnel as `net.connect host:port` (raw bytes: no output rules apply there). A loopback
 * service of the host is reached only when the deciding rule names its host. Audit path:
 * `egress`.
 *
 *   const e = await startEgress({ dir, agent, governor, host });
 *   // launcher: --netns --egress `${e.port}:${e.socketPath}`; deno: ...e.denoFlags; env: e.env
 *   await e.close();
 */
import { join } from "node:path";
import type { AgentRef, ApprovalHandler, Governor } from "../governor.ts";
import { refusalMessage } from "../governor.ts";
import { fetchAsk } from "../gateway/ops.ts";
import { httpRequest } from "../executors/http.ts";
import { guardRequest } from "../outputs/http.ts";
import { hostCa } from "./ca.ts";
import { serveEgress, type Verdict } from "./proxy.ts";
import { isLoopback, ruleNamesHost } from "./loopback.ts";

export { createEgressCa, type EgressCa, hostCa } from "./ca.ts";
export { LIMITS as EGRESS_HTTP_LIMITS } from "./http1.ts";

import { EGRESS_PORT } from "../supervisor/sandbox/layers.ts";

export { EGRESS_PORT };

/** The variables an agent with an egress proxy gets (the proxy's URL; the CA file for Node). */
export const EGRESS_ENV: readonly string[] = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "NODE_EXTRA_CA_CERTS",
];

/** What an egress proxy needs. */
export interface EgressOptions {
  /** The agent's private directory (not its workspace): the socket and CA file go here. */
  dir: string;
  agent: AgentRef;
  governor: Governor;
  /** The host (any object standing for it): one egress CA per host. */
  host: object;
  approvals?: ApprovalHandler;
  /** Extra CAs the host trusts upstream (PEM), besides the system roots. */
  upstreamCaCerts?: string[];
  /** The loopback port inside the namespace (default EGRESS_PORT). */
  port?: number;
  /** Aborted when the agent stops: in-flight upstream requests end. */
  signal?: AbortSignal;
}

/** A running egress proxy. */
export interface Egress {
  /** The unix socket the forwarder connects to. */
  socketPath: string;
  /** The loopback port inside the agent's namespace. */
  port: number;
  /** HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (and lower-case), NODE_EXTRA_CA_CERTS for the agent. */
  env: Record<string, string>;
  /** The CA certificate the agent trusts (PEM), and the file holding it (read-only to it). */
  caPem: string;
  caPath: string;
  /** Deno flags that make the agent trust the CA (`--cert`). */
  denoFlags: string[];
  /** The launcher flags (`--netns --egress PORT:SOCKET`). */
  launcherFlags: string[];
  close(): Promise<void>;
}

/**
 * The egress proxy an agent's kernel layers call for: one when it has a network namespace of
 * its own and its ring allows any network; none otherwise (undefined).
 */
export function egressFor(
  layers: { netns?: boolean; noInet: boolean } | undefined,
  o: EgressOptions,
): Promise<Egress | undefined> {
  return layers?.netns && !layers.noInet ? startEgress(o) : Promise.resolve(undefined);
}

/** Start the egress proxy of one agent. */
export async function startEgress(o: EgressOptions): Promise<Egress> {
  const ca = await hostCa(o.host);
  const port = o.port ?? EGRESS_PORT;
  const socketPath = join(o.dir, "e.sock");
  const caPath = join(o.dir, "egress-ca.pem");
  Deno.writeTextFileSync(caPath, ca.certPem, { mode: 0o644 });
  try {
    Deno.removeSync(socketPath);
  } catch { /* none */ }
  const client = o.upstreamCaCerts?.length
    ? Deno.createHttpClient({ caCerts: o.upstreamCaCerts })
    : undefined;
  const signal = o.signal ?? new AbortController().signal;
  const { agent, governor, approvals } = o;

  const decide = async (
    ask: ReturnType<typeof fetchAsk>,
    host: string,
  ): Promise<Verdict> => {
    const loopback = await isLoopback(host);
    if (loopback && !ruleNamesHost(governor.policy.rules, ask.action, host)) {
      const reason = `host loopback service ${host}: no rule names it`;
      const method = ask.args?.method ? { method: ask.args.method } : {};
      governor.record(agent, ask, { effect: "deny", rule: null, reason }, method);
      return { reason, rule: null };
    }
    // The method is audited with the URL (an SDK http.fetch has it in its decided args too).
    const extra = ask.args?.method ? { method: ask.args.method } : undefined;
    const { ruling, refused } = await governor.authorize(agent, ask, { approvals, extra });
    if (refused) return { reason: refusalMessage(refused), rule: refused.rule };
    if (loopback) {
      const rule = governor.policy.rules.find((r) => r.id === ruling.rule);
      if (!rule || !ruleNamesHost([rule], ask.action, host)) {
        const reason = `host loopback service ${host}: rule ${ruling.rule} does not name it`;
        governor.record(agent, ask, { effect: "deny", rule: ruling.rule, reason });
        return { reason, rule: ruling.rule };
      }
    }
    return null;
  };

  const server = serveEgress(socketPath, {
    ca,
    decideFetch: (url, method, headers, bodyBytes) =>
      decide(fetchAsk("egress", url.href, method, headers, bodyBytes), url.hostname),
    // The output rules on what leaves (URL, headers, body), as on an SDK http.fetch.
    check: (req) => guardRequest({ governor, subject: agent, path: "egress" }, req),
    decideConnect: (host, port) =>
      decide({ path: "egress", action: "net.connect", resource: `${host}:${port}` }, host),
    fetch: (url, init) =>
      httpRequest(url.href, {
        method: init.method,
        headers: init.headers,
        ...(init.body ? { body: new Uint8Array(init.body) } : {}),
        client,
      }, signal),
  });
  const proxyUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {};
  for (const n of EGRESS_ENV) env[n] = n === "NODE_EXTRA_CA_CERTS" ? caPath : proxyUrl;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= server.close().finally(() => {
      client?.close();
      try {
        Deno.removeSync(socketPath);
      } catch { /* gone */ }
    });
  signal.addEventListener("abort", () => void close(), { once: true });
  return {
    socketPath,
    port,
    env,
    caPem: ca.certPem,
    caPath,
    denoFlags: [`--cert=${caPath}`],
    launcherFlags: ["--netns", "--egress", `${port}:${socketPath}`],
    close,
  };
}
