/**
 * The policy benchmark workload: N rules spread over actions, expressible both in Warden YAML
 * and in @microsoft/agent-governance-sdk conditions, and a request mix (allow and deny) whose
 * resources need URL and path normalization.
 */

/** One abstract rule of the workload. */
export interface WorkRule {
  id: string;
  effect: "allow" | "deny";
  kind: "fetch-allow" | "fetch-deny" | "read-allow" | "tool-deny";
  n: number;
}

export function workRules(count: number): WorkRule[] {
  const kinds = ["fetch-allow", "fetch-deny", "read-allow", "tool-deny"] as const;
  return Array.from({ length: count }, (_, i) => {
    const kind = kinds[i % 4];
    const effect = kind === "fetch-allow" || kind === "read-allow" ? "allow" : "deny";
    return { id: `r${String(i).padStart(5, "0")}`, effect, kind, n: i };
  });
}

/** The workload as a Warden policy. */
export function wardenYaml(rules: WorkRule[]): string {
  const out = ["apiVersion: warden/v1", "kind: Policy", "name: bench", "default: deny", "rules:"];
  for (const r of rules) {
    switch (r.kind) {
      case "fetch-allow":
        out.push(
          `  - { id: ${r.id}, effect: allow, action: net.fetch, when: { url.host: { in: [h${r.n}.example.com] }, args.method: { in: [GET] } } }`,
        );
        break;
      case "fetch-deny":
        out.push(
          `  - { id: ${r.id}, effect: deny, action: net.fetch, when: { url.host: { eq: evil${r.n}.example.net } } }`,
        );
        break;
      case "read-allow":
        out.push(
          `  - { id: ${r.id}, effect: allow, action: fs.read, resource: /data/${r.n}/file }`,
        );
        break;
      case "tool-deny":
        out.push(
          `  - { id: ${r.id}, effect: deny, action: tool.call, resource: tool${r.n}, when: { args.level: { gt: 5 } } }`,
        );
        break;
    }
  }
  return out.join("\n") + "\n";
}

/**
 * Requests: allow and deny outcomes. `hostile` mixes in spellings that only normalization
 * resolves (upper case, trailing dots, dot segments, default ports, `..` escapes); without it
 * every resource is already canonical.
 */
export function workRequests(
  rules: WorkRule[],
  count: number,
  hostile = true,
): Record<string, unknown>[] {
  const agent = { id: "did:key:z6MkBench", name: "bench", ring: 2, trust: 600 };
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const r = rules[(i * 7919) % rules.length];
    const v = hostile ? (i >> 2) % 3 : 1 + ((i >> 2) % 2);
    let req: Record<string, unknown>;
    switch (r.kind) {
      case "fetch-allow":
        req = {
          action: "net.fetch",
          resource: v === 0
            ? `HTTPS://H${r.n}.EXAMPLE.COM./api/./v1/../items?x=${i}`
            : `https://h${r.n}.example.com/api/items?x=${i}`,
          args: { method: v === 2 ? "POST" : "GET" },
        };
        break;
      case "fetch-deny":
        req = {
          action: "net.fetch",
          resource: v === 0
            ? `https://EVIL${r.n}.example.net:443/x`
            : `https://ok${r.n}.example.org/`,
          args: { method: "GET" },
        };
        break;
      case "read-allow":
        req = {
          action: "fs.read",
          resource: v === 0
            ? `/data/${r.n}/./sub/../file`
            : v === 1
            ? `/data/${r.n}/file`
            : hostile
            ? `/data/${r.n}/../../etc/passwd`
            : `/data/${r.n}/other`,
        };
        break;
      default:
        req = { action: "tool.call", resource: `tool${r.n}`, args: { level: v === 2 ? 1 : 9 } };
    }
    out.push({ agent, ...req, context: { workspace: "/data" } });
  }
  return out;
}
