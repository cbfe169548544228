/**
 * A benign research agent: reads its notes from the workspace, searches them with a host
 * tool, fetches papers from the research API (allowed by policy), and emits a summary.
 * Run: deno task run examples/research_agent.ts   (the demo provides the API and notes)
 */
import { emit, env, fs, http, log, tools } from "../sdk/mod.ts";

const task = JSON.parse((await env.get("WARDEN_TASK")) ?? "{}") as { api?: string; topic?: string };
const topic = task.topic ?? "sandboxing";

let notes = "";
try {
  notes = await fs.readText("notes.md");
} catch {
  await fs.writeText("notes.md", `# Notes\n\nNothing on ${topic} yet.\n`);
  notes = await fs.readText("notes.md");
}
const hits = (await tools.call("search", { query: topic })) as { file: string; line: number }[];
await log(`found ${hits.length} note(s) about ${topic}`);

let papers: { title: string }[] = [];
if (task.api) {
  const res = await http.fetch(`${task.api}/api/papers?topic=${encodeURIComponent(topic)}`);
  papers = res.json() as { title: string }[];
}
const summary = await tools.call("summarize", { text: notes, maxChars: 120 });
await fs.writeText(
  "report.md",
  `# ${topic}\n\n${summary}\n\n${papers.map((p) => `- ${p.title}`).join("\n")}\n`,
);
await emit({ topic, notes: hits.length, papers: papers.length, summary });
console.log(`research done: ${hits.length} notes, ${papers.length} papers`);
