/**
 * What the three framework examples share: the tools' schemas and local implementations, and
 * the script their scripted model follows (no network, no real model):
 *   1. write_note (worker mode: runs here, its file write goes through the permission broker)
 *   2. search     (host mode: the host's built-in `search` tool runs over the workspace)
 *   3. send_email to an outside domain (the policy denies it; the local execute must not run)
 *   4. a final answer built from what the tools returned.
 */
import { z } from "zod";

export const NoteArgs = z.object({
  path: z.string().regex(/^[\w.-]+$/).describe("file name inside notes/"),
  text: z.string().describe("the note"),
});
export const SearchArgs = z.object({ query: z.string().describe("phrase to look for") });
export const EmailArgs = z.object({
  to: z.string().describe("recipient address"),
  subject: z.string(),
  body: z.string(),
});

export const DESCRIPTIONS = {
  write_note: "save a note in the workspace's notes/ folder",
  search: "search the workspace's files for a phrase (runs on the Warden host)",
  send_email: "send an email",
} as const;

/** The calls the model makes, in order. */
export const SCRIPT = [
  {
    tool: "write_note",
    args: { path: "meeting.md", text: "Quarterly review moved to Friday. Budget: 42k." },
  },
  { tool: "search", args: { query: "budget" } },
  {
    tool: "send_email",
    args: { to: "partner@outside.test", subject: "Budget", body: "The budget is 42k." },
  },
] as const;

export const PROMPT = "Save the meeting note, find the budget, and email it to our partner.";

/** write_note: a raw file write in the workspace (decided by the broker as fs.write). */
export async function writeNote({ path, text }: z.infer<typeof NoteArgs>): Promise<string> {
  await Deno.mkdir("notes", { recursive: true });
  await Deno.writeTextFile(`notes/${path}`, text + "\n");
  return `wrote ${text.length + 1} bytes to notes/${path}`;
}

/** send_email: stands in for a mail API by dropping the message into outbox/. */
export async function sendEmail({ to, subject, body }: z.infer<typeof EmailArgs>): Promise<string> {
  await Deno.mkdir("outbox", { recursive: true });
  await Deno.writeTextFile(
    `outbox/${Date.now()}.eml`,
    `To: ${to}\nSubject: ${subject}\n\n${body}\n`,
  );
  return `sent to ${to}`;
}

/** The local `search` is never used: the tool runs on the host in these examples. */
export function localSearch(_args: z.infer<typeof SearchArgs>): Promise<string> {
  return Promise.reject(
    new Error("search runs on the Warden host; this local implementation must not run"),
  );
}

/** One tool result as the model received it. */
export interface Seen {
  tool: string;
  output: string;
  /** The framework marked it as an error (absent when the framework has no such flag). */
  error?: boolean;
}

/** What the scripted model does next, given every tool result it has received so far. */
export function nextStep(
  seen: readonly Seen[],
): { tool: string; args: Record<string, unknown> } | { final: string } {
  const call = SCRIPT[seen.length];
  if (call) return { tool: call.tool, args: { ...call.args } };
  const said = (tool: string) => seen.find((s) => s.tool === tool)?.output ?? "(nothing)";
  return {
    final: [
      `Note: ${said("write_note")}.`,
      `Search: ${said("search")}.`,
      `Email: ${said("send_email")}`,
    ].join("\n"),
  };
}

/** What every example emits. */
export interface Transcript {
  framework: string;
  final: string;
  seen: Seen[];
}
