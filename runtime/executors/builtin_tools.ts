/** Tools every host offers (each still needs a policy rule before an agent may call it). */
import { join } from "node:path";
import { z } from "zod";
import { resolveInWorkspace } from "./fs.ts";
import type { ToolRegistry } from "./tools.ts";

const MAX_OUTPUT = 64 * 1024;

/** Register `noop`, `search`, `summarize` and `shell`. */
export function registerBuiltinTools(tools: ToolRegistry): ToolRegistry {
  tools.register("noop", {
    description: "does nothing and returns ok (latency probe)",
    schema: z.object({}).strict(),
    run: () => "ok",
  });
  tools.register("search", {
    description: "case-insensitive search for a phrase in the text files of the agent's workspace",
    schema: z.strictObject({
      query: z.string().min(1).max(256),
      limit: z.number().int().min(1).max(100).default(10),
    }),
    run: async ({ query, limit }, ctx) => {
      const hits: { file: string; line: number; text: string }[] = [];
      const q = query.toLowerCase();
      const walk = async (dir: string, rel: string) => {
        for await (const e of Deno.readDir(dir)) {
          if (hits.length >= limit || ctx.signal.aborted) return;
          const path = join(dir, e.name);
          if (e.isDirectory) await walk(path, join(rel, e.name));
          else if (e.isFile && (await Deno.stat(path)).size <= 1 << 20) {
            const lines = (await Deno.readTextFile(path)).split("\n");
            lines.forEach((text, i) => {
              if (hits.length < limit && text.toLowerCase().includes(q)) {
                hits.push({ file: join(rel, e.name), line: i + 1, text: text.slice(0, 200) });
              }
            });
          }
        }
      };
      await walk(resolveInWorkspace(ctx.workspace, "."), "");
      return hits;
    },
  });
  tools.register("summarize", {
    description: "the first sentences of a text, up to a length",
    schema: z.strictObject({
      text: z.string().max(1 << 20),
      maxChars: z.number().int().min(16).max(4096).default(280),
    }),
    run: ({ text, maxChars }) => {
      const sentences = text.replace(/\s+/g, " ").trim().split(/(?<=[.!?])\s/);
      let out = "";
      for (const s of sentences) {
        if ((out + " " + s).trim().length > maxChars) break;
        out = (out + " " + s).trim();
      }
      return out || text.slice(0, maxChars);
    },
  });
  tools.register("shell", {
    description:
      "run a shell command in the agent's workspace (clean environment, 10 s, 64 KiB output)",
    schema: z.strictObject({ command: z.string().min(1).max(4096) }),
    timeoutMs: 10_000,
    run: async ({ command }, ctx) => {
      const out = await new Deno.Command("/bin/sh", {
        args: ["-c", command],
        cwd: ctx.workspace,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
        stdin: "null",
        signal: ctx.signal,
      }).output();
      const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, MAX_OUTPUT));
      return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
    },
  });
  return tools;
}
