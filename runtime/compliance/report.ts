/** The compliance report (md, json, html) and the signed evidence bundle. */
import { canonicalJson } from "../../governance/audit/mod.ts";
import {
  type ControlResult,
  REQUIREMENTS,
  requirementStatus,
  type Status,
} from "../../governance/compliance/mod.ts";
import { b64url, type Signer, unb64url, verifyDid } from "../../governance/identity/mod.ts";

export interface Report {
  generatedAt: string;
  controls: ControlResult[];
  requirements: {
    framework: string;
    id: string;
    title: string;
    status: Status;
    controls: string[];
  }[];
  summary: Record<Status, number>;
}

export function buildReport(controls: ControlResult[], now = new Date()): Report {
  const byId = new Map(controls.map((c) => [c.control, c]));
  const requirements = REQUIREMENTS.map((r) => ({
    framework: r.framework,
    id: r.id,
    title: r.title,
    status: requirementStatus(r.controls.map((c) => byId.get(c)!)),
    controls: [...r.controls],
  }));
  const summary = { pass: 0, fail: 0, not_applicable: 0, manual: 0 } as Record<Status, number>;
  for (const r of requirements) summary[r.status]++;
  return { generatedAt: now.toISOString(), controls, requirements, summary };
}

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

export function renderReport(r: Report, format: "md" | "json" | "html"): string {
  if (format === "json") return JSON.stringify(r, null, 2) + "\n";
  const control = new Map(r.controls.map((c) => [c.control, c]));
  if (format === "md") {
    const out = [
      `# Warden compliance report`,
      ``,
      `Generated ${r.generatedAt}. ${r.summary.pass} pass, ${r.summary.fail} fail, ${r.summary.manual} manual, ${r.summary.not_applicable} not applicable.`,
      ``,
    ];
    for (const fw of [...new Set(r.requirements.map((x) => x.framework))]) {
      out.push(`## ${fw}`, ``, `| requirement | status | evidence |`, `| --- | --- | --- |`);
      for (const q of r.requirements.filter((x) => x.framework === fw)) {
        const ev = q.controls.map((c) =>
          `${c}: ${control.get(c as never)?.status} — ${control.get(c as never)?.evidence}`
        ).join("<br>");
        out.push(`| ${q.id} ${q.title} | **${q.status}** | ${ev.replaceAll("|", "\\|")} |`);
      }
      out.push(``);
    }
    return out.join("\n");
  }
  const rows = r.requirements.map((q) =>
    `<tr class="${q.status}"><td>${esc(q.framework)}</td><td>${esc(q.id)} ${
      esc(q.title)
    }</td><td>${q.status}</td><td>${
      q.controls.map((c) => `${esc(c)}: ${esc(control.get(c as never)?.evidence ?? "")}`).join(
        "<br>",
      )
    }</td></tr>`
  ).join("\n");
  return `<!doctype html><meta charset="utf-8"><title>Warden compliance report</title><style>body{font:14px system-ui;margin:2rem}td,th{border-bottom:1px solid #ddd;padding:.3rem;vertical-align:top}.pass td:nth-child(3){color:#1a7f37}.fail td:nth-child(3){color:#cf222e}.manual td:nth-child(3){color:#9a6700}</style><h1>Warden compliance report</h1><p>Generated ${r.generatedAt}.</p><table><tr><th>framework</th><th>requirement</th><th>status</th><th>evidence</th></tr>\n${rows}</table>\n`;
}

/** The signed evidence bundle. */
export interface Bundle {
  v: 1;
  report: Report;
  configHashes: Record<string, string>;
  auditCheckpoint: unknown;
  testSummary: { passed: number; failed: number } | null;
  signer: string;
  sig: string;
}

export async function signBundle(
  b: Omit<Bundle, "v" | "signer" | "sig">,
  signer: Signer,
): Promise<Bundle> {
  const body = { v: 1 as const, ...b, signer: signer.did };
  const sig = await signer.sign(new TextEncoder().encode(canonicalJson(body)));
  return { ...body, sig: b64url(sig) };
}

/** Check a bundle's signature (and, when given, that it is signed by `key`). */
export async function verifyBundle(b: Bundle, key?: string): Promise<string | null> {
  if (b?.v !== 1 || typeof b.sig !== "string") return "not a Warden evidence bundle";
  if (key && b.signer !== key) return `signed by ${b.signer}, not ${key}`;
  const { sig, ...body } = b;
  try {
    const ok = await verifyDid(
      b.signer,
      new TextEncoder().encode(canonicalJson(body)),
      unb64url(sig),
    );
    return ok ? null : "the signature does not match the bundle's content";
  } catch {
    return "malformed signature";
  }
}
