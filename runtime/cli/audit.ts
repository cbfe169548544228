/**
 * `deno task audit verify <file>`: check an audit log's hash chain. Exit 0 when it holds,
 * else 1 naming the first bad entry.
 */
import { type AuditEntry, verifyChain } from "../../governance/audit/mod.ts";

const USAGE = "usage: deno task audit verify <audit.jsonl>";

function main(args: string[]): number {
  const [cmd, file, ...rest] = args;
  if (cmd !== "verify" || !file || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    console.error(
      `${file}: cannot read: ${
        e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message
      }`,
    );
    return 1;
  }
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const entries: AuditEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    try {
      entries.push(JSON.parse(lines[i]));
    } catch {
      console.error(`${file}:${i + 1}: entry ${i} is not valid JSON`);
      return 1;
    }
  }
  const { bad, why } = verifyChain(entries);
  if (bad >= 0) {
    console.error(`${file}:${bad + 1}: entry ${bad} is bad: ${why}`);
    return 1;
  }
  console.log(`ok: ${entries.length} entries, hash chain intact`);
  return 0;
}

Deno.exit(main(Deno.args));
