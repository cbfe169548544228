/**
 * A minimal governed agent (written by `deno task init`): it reads `notes.txt` from its
 * workspace, fetches a URL through the host and emits what it found. The host decides every
 * SDK call by `policy.yaml` and audits it before performing it; a refused call throws a
 * `WardenError`. `Deno.args` holds what follows `--` on the `deno task run` line.
 */
import { emit, fs, http, log, WardenError } from "@warden/sdk";

const url = Deno.args[0] ?? "http://127.0.0.1:8787/api/hello";

async function main(): Promise<number> {
  try {
    // Decided as fs.read of <workspace>/notes.txt (rule read-workspace).
    const notes = await fs.readText("notes.txt");
    // Decided as output.emit of "log" (rule outputs): log() is an output too.
    await log(`read ${notes.length} characters of notes.txt`);
    // Decided as net.fetch of the whole URL, with args.method (rule fetch-hello). The host
    // performs the request and answers { status, headers, body, truncated }: redirects are
    // returned, not followed, and a body over 1 MiB comes back cut with truncated: true.
    const res = await http.fetch(url);
    // Decided as output.emit of "output" (rule outputs).
    await emit({ notes: notes.trim().split("\n").length, url, status: res.status, body: res.body });
    return 0;
  } catch (e) {
    if (!(e instanceof WardenError)) throw e;
    console.error(`refused (${e.code}, rule ${e.rule ?? "none"}): ${e.message}`);
    return 1;
  }
}

Deno.exitCode = await main();
