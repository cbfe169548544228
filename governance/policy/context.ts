/** Per-request evaluation context: the request plus facets computed at most once. */
import { type ResourceKind, resourceKind } from "./actions.ts";
import {
  hostPortFacets,
  MAX_STRING_LENGTH,
  nfc,
  normalizePath,
  type UrlFacets,
  urlFacets,
} from "./normalize.ts";
import { uriOrNull } from "./uri.ts";

/** Three-valued truth: false, true, or unknown (the condition could not be evaluated). */
export const F = 0, T = 1, U = 2;
export type Tri = 0 | 1 | 2;

/** Values a policy can reference before the request arrives (`vars:` and host options). */
export type StaticVars = Readonly<Record<string, string>>;

/** Evaluation context for one request. */
export class EvalContext {
  // Written only by the constructor and `reuse` (a policy keeps one context for its decisions).
  req: Record<string, unknown>;
  action: string;
  kind: ResourceKind;
  /** Why the last condition came out unknown (for fail-closed reasons). */
  why = "";
  /** Truth value of the last rule that matched during a scan. */
  tri: Tri = T;
  // Lazily computed facets: undefined = not computed yet, null = cannot be computed.
  private res: string | null | undefined = undefined;
  private urlF: UrlFacets | null | undefined = undefined;
  private pathN: string | null | undefined = undefined;
  private ws: string | null | undefined = undefined;
  private readonly vars: StaticVars;

  constructor(
    req: Record<string, unknown>,
    action: string,
    vars: StaticVars,
    kind: ResourceKind = resourceKind(action),
  ) {
    this.req = req;
    this.action = action;
    this.kind = kind;
    this.vars = vars;
  }

  /**
   * Point this context at another request, forgetting every computed facet: what a fresh
   * context for it would be (the evaluator reuses one, so a decision allocates no context).
   */
  reuse(req: Record<string, unknown>, action: string, kind: ResourceKind): this {
    this.req = req;
    this.action = action;
    this.kind = kind;
    this.why = "";
    this.tri = T;
    this.res = undefined;
    this.urlF = undefined;
    this.pathN = undefined;
    this.ws = undefined;
    return this;
  }

  /** `context` of the request when it is a plain object. */
  get contextObj(): Record<string, unknown> | undefined {
    const c = this.req.context;
    return c !== null && typeof c === "object" && !Array.isArray(c)
      ? c as Record<string, unknown>
      : undefined;
  }

  /** The workspace root: `context.workspace`, else the static `workspace` var; normalized. */
  workspace(): string | null {
    if (this.ws !== undefined) return this.ws;
    const c = this.contextObj;
    const raw = c && Object.hasOwn(c, "workspace") ? c.workspace : this.vars.workspace;
    const ws = typeof raw === "string" && raw.startsWith("/") ? normalizePath(raw) : null;
    this.ws = ws;
    return ws;
  }

  /** Base directory for relative paths: `context.cwd`, else the workspace. */
  private base(): string | undefined {
    const c = this.contextObj;
    const cwd = c && Object.hasOwn(c, "cwd") ? c.cwd : undefined;
    if (typeof cwd === "string" && cwd.startsWith("/")) return cwd;
    return this.workspace() ?? undefined;
  }

  /** URL facets of the resource (url and host:port actions), null when it does not parse. */
  url(): UrlFacets | null {
    if (this.urlF !== undefined) return this.urlF;
    const r = this.req.resource;
    let f: UrlFacets | null = null;
    if (typeof r === "string") {
      if (this.kind === "url") f = urlFacets(r);
      else if (this.kind === "hostport") f = hostPortFacets(r);
    }
    this.urlF = f;
    return f;
  }

  /** Normalized file path of the resource (path actions and `file:` imports). */
  path(): string | null {
    if (this.pathN !== undefined) return this.pathN;
    const r = this.req.resource;
    let p: string | null = null;
    if (typeof r === "string") {
      if (this.kind === "path") p = normalizePath(r, this.base());
      else if (this.kind === "url" && r.startsWith("file:")) p = normalizePath(r);
    }
    this.pathN = p;
    return p;
  }

  /** The resource in normalized form for its action kind; null when it cannot be normalized. */
  resource(): string | null {
    if (this.res !== undefined) return this.res;
    const r = this.req.resource;
    let out: string | null = null;
    if (typeof r === "string") {
      switch (this.kind) {
        case "path":
          out = this.path();
          break;
        case "url":
        case "hostport":
          out = this.url()?.href ?? null;
          break;
        case "uri":
          out = uriOrNull(r);
          break;
        default:
          out = r.length <= MAX_STRING_LENGTH ? nfc(r) : null;
      }
    }
    this.res = out;
    return out;
  }
}
