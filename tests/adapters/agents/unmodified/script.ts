/**
 * The script the unmodified framework agents follow (no Warden import anywhere in them): read a
 * note from the working directory with node:fs, fetch a page with global fetch, then report
 * what each tool returned. Their tools do raw I/O, as framework tools ordinarily do.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";

export const PROMPT = "Read the note, fetch the page, then report.";
export const NoteArgs = z.object({ file: z.string() });
export const PageArgs = z.object({ url: z.string() });

/** What the model has been shown so far, tool by tool. */
export type Seen = { tool: string; output: string };

export function params(): { url: string } {
  return JSON.parse(readFileSync("params.json", "utf8"));
}

/** Tool bodies: ordinary code, errors returned as text the model reads. */
export function readNote({ file }: { file: string }): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

export async function fetchPage({ url }: { url: string }): Promise<string> {
  try {
    return await (await fetch(url)).text();
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/** The model's next step after seeing `seen`. */
export function nextStep(
  seen: readonly Seen[],
  url: string,
): { tool: string; args: Record<string, unknown> } | { final: string } {
  if (seen.length === 0) return { tool: "read_note", args: { file: "note.txt" } };
  if (seen.length === 1) return { tool: "fetch_page", args: { url } };
  return { final: seen.map((s) => `${s.tool}: ${s.output}`).join("\n") };
}
