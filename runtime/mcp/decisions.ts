/**
 * What the MCP gateway decides for one governed server: asks, refusals (audited), resource URIs
 * in normalized form, the resources in results, listing visibility, and completions.
 */
import { normalizeUri, templateShape } from "../../governance/policy/uri.ts";
import { refusalLine } from "../../sdk/adapters/refusal.ts";
import { type Ask, toRefusal } from "../governor.ts";
import type { AgentHandle } from "../host.ts";
import type { McpGatewayOptions } from "./gateway.ts";

/** Distinct resource URIs decided in one result; more are refused without a decision each. */
export const MAX_EMBEDDED = 256;

/** A decided resource URI: its normalized form (raw when it has none) and the refusal line. */
export type Decided = { uri: string; no: string | null };
/** The resources of one result decided so far. */
export type Seen = { uris: Map<string, Decided>; over: number };

/** The decisions of one governed MCP server (its handle's ref is the subject). */
export class McpDecisions {
  readonly handle: AgentHandle;
  #opts: McpGatewayOptions;
  #hiddenSeen = new Set<string>();

  constructor(opts: McpGatewayOptions, handle: AgentHandle) {
    this.#opts = opts;
    this.handle = handle;
  }

  /** The ask for an MCP operation of this server. */
  ask(action: string, resource: string, args: Record<string, unknown> = {}): Ask {
    return { path: "mcp", action, resource, args, context: { mcp: this.handle.name } };
  }

  /** Could the policy ever allow this (for hiding)? */
  visible(action: string, resource: string): boolean {
    if (this.#opts.hide === false) return true;
    const ok = this.#opts.host.governor.couldAllow(this.handle.ref, this.ask(action, resource));
    if (!ok) this.hidden(resource);
    return ok;
  }

  /** Could the policy ever allow `ask` (not audited)? */
  couldAllow(ask: Ask): boolean {
    return this.#opts.host.governor.couldAllow(this.handle.ref, ask);
  }

  /** Say (once per name) that a listing hid `what`. */
  hidden(what: string): void {
    // Said once per name, and not without end (a server may list names without end).
    if (this.#hiddenSeen.has(what) || this.#hiddenSeen.size >= 1000) return;
    this.#hiddenSeen.add(what);
    this.#opts.onNotice?.(`hidden from listings (the policy never allows it): ${what}`);
  }

  /**
   * Decide and audit; null when allowed, else the refusal as one readable line. `approve`
   * false: a `require_approval` is not sent to the approval handler (a resource embedded in a
   * result cannot wait for a human) and is refused as held.
   */
  async refusal(
    ask: Ask,
    what: string,
    extra?: Record<string, unknown>,
    approve = true,
  ): Promise<string | null> {
    const { refused } = await this.#opts.host.governor.authorize(this.handle.ref, ask, {
      approvals: approve ? this.#opts.approvals : undefined,
      extra,
    });
    return refused ? refusalLine(what, toRefusal(refused)) : null;
  }

  /** Audit a refusal made here (no policy rule) and return its line. */
  refuse(ask: Ask, what: string, reason: string, extra: Record<string, unknown>): string {
    const { governor } = this.#opts.host;
    governor.record(this.handle.ref, ask, { effect: "deny", rule: null, reason }, extra);
    return refusalLine(what, { code: "denied", rule: null, message: reason, ruleReason: null });
  }

  /**
   * Decide a resource URI as `mcp.resource.read` on its normalized form (what the server then
   * receives). `uri` is the normalized form, or the raw one (escaped) when it has none.
   */
  async decideUri(
    raw: string,
    method: string,
    approve = true,
  ): Promise<Decided> {
    const n = normalizeUri(raw);
    if (!n.ok) {
      const shown = JSON.stringify(raw.slice(0, 200)).slice(1, -1) + (raw.length > 200 ? "…" : "");
      const no = this.refuse(
        this.ask("mcp.resource.read", raw),
        `resource ${shown}`,
        `the URI cannot be normalized (fail closed): ${n.reason}`,
        { method },
      );
      return { uri: raw, no };
    }
    const no = await this.refusal(
      this.ask("mcp.resource.read", n.uri),
      `resource ${n.uri}`,
      { method },
      approve,
    );
    return { uri: n.uri, no };
  }

  /**
   * Decide every resource that comes back in content blocks (tool results, prompt messages):
   * an embedded resource or resource link whose URI is denied becomes a text block with the
   * refusal; one that is allowed comes back with its URI in normalized form. Blocks of a type
   * MCP does not define are replaced too (they could carry anything). Each distinct URI is
   * decided once per result, at most MAX_EMBEDDED of them; the rest are refused unread.
   */
  async filterBlocks(blocks: unknown[], method: string): Promise<unknown[]> {
    const seen: Seen = { uris: new Map(), over: 0 };
    const out: unknown[] = [];
    for (const b of blocks) out.push(await this.#filterBlock(b, method, seen));
    this.overflow(seen, method);
    return out;
  }

  /** One audited refusal for the resources of a result beyond MAX_EMBEDDED. */
  overflow(seen: Seen, method: string): void {
    if (seen.over === 0) return;
    this.refuse(
      this.ask("mcp.resource.read", `(${seen.over} more resources)`),
      "resources",
      `more than ${MAX_EMBEDDED} distinct resources in one result (fail closed)`,
      { method },
    );
  }

  /** Decide one resource of a result (each distinct URI once). */
  async seenUri(raw: string, method: string, seen: Seen): Promise<Decided | null> {
    let d = seen.uris.get(raw);
    if (!d) {
      if (seen.uris.size >= MAX_EMBEDDED) {
        seen.over++;
        return null;
      }
      d = await this.decideUri(raw, method, false);
      seen.uris.set(raw, d);
    }
    return d;
  }

  /** One content block of a result, decided (see filterBlocks). */
  async #filterBlock(b: unknown, method: string, seen: Seen): Promise<unknown> {
    const block = (b ?? {}) as { type?: unknown; uri?: unknown; resource?: { uri?: unknown } };
    const text = (t: string) => ({ type: "text", text: t });
    switch (block.type) {
      case "text":
      case "image":
      case "audio":
        return b;
      case "resource":
      case "resource_link": {
        const raw = block.type === "resource" ? block.resource?.uri : block.uri;
        if (typeof raw !== "string") return text("Warden removed a resource without a URI");
        const d = await this.seenUri(raw, method, seen);
        if (d === null) {
          return text(`Warden removed a resource: more than ${MAX_EMBEDDED} in one result`);
        }
        if (d.no !== null) return text(d.no);
        return block.type === "resource"
          ? { ...block, resource: { ...block.resource, uri: d.uri } }
          : { ...block, uri: d.uri };
      }
      default:
        return text("Warden removed a content block of a type MCP does not define");
    }
  }

  /** Could some expansion of a resource template be allowed (ring ceiling and policy)? */
  templateCould(template: string): boolean {
    if (!/\{[^{}]*\}/.test(template)) {
      // No expression: the template is one URI, judged like a listed resource.
      const n = normalizeUri(template);
      return n.ok &&
        this.#opts.host.governor.couldAllow(this.handle.ref, this.ask("mcp.resource.read", n.uri));
    }
    return this.#opts.host.governor.couldAllow(
      this.handle.ref,
      this.ask("mcp.resource.read", template),
      templateShape(template),
    );
  }

  /**
   * Decide a completion against what it completes: a prompt as `mcp.prompt.get`, a resource
   * template as `mcp.resource.read`, allowed when the policy could allow it for some arguments
   * (some expansion). Audited either way; null when allowed, else the refusal line.
   */
  completion(ref: { type: string; name?: string; uri?: string }): string | null {
    const { governor } = this.#opts.host;
    const prompt = ref.type === "ref/prompt";
    const action = prompt ? "mcp.prompt.get" : "mcp.resource.read";
    const target = String(prompt ? ref.name : ref.uri);
    const what = prompt ? `prompt ${JSON.stringify(target)}` : `resource template ${target}`;
    const ask = this.ask(action, target);
    const could = prompt ? governor.couldAllow(this.handle.ref, ask) : this.templateCould(target);
    const extra = { method: "completion/complete" };
    if (!could) {
      return this.refuse(
        ask,
        what,
        `the policy never allows ${action} ${target}, so it is not completed either`,
        extra,
      );
    }
    governor.record(this.handle.ref, ask, {
      effect: "allow",
      rule: null,
      reason: `completion: the policy could allow ${action} ${target}`,
    }, extra);
    return null;
  }
}
