/**
 * Case 21: check-then-use race. The broker resolves symlinks when it decides, but the open
 * happens later. The workspace holds `B/d`, a symlink (planted by the host) to the secret's
 * directory; the agent builds a decoy `A/d/secret.json`, starts an async read or write under
 * `A/d/`, and swaps `A` and `B` by renaming (all inside the workspace, all allowed) before the
 * blocking open runs.
 */
import { attempt, done, params } from "./_attempt.ts";

const { rounds } = params<{ rounds: number }>();
const swap = () => {
  Deno.renameSync("A", "C");
  Deno.renameSync("B", "A");
};
const unswap = () => {
  Deno.renameSync("A", "B");
  Deno.renameSync("C", "A");
};
const exists = (p: string) => {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

Deno.mkdirSync("A/d", { recursive: true });
Deno.writeTextFileSync("A/d/secret.json", "decoy");

await attempt("race read", async () => {
  for (let i = 0; i < rounds; i++) {
    const p = Deno.readTextFile("A/d/secret.json");
    swap();
    const got = await p.catch(() => "decoy");
    unswap();
    if (got !== "decoy") return `round ${i}: ${got}`;
  }
  throw new Error(`no leak in ${rounds} rounds`);
});

await attempt("race write", async () => {
  for (let i = 0; i < rounds; i++) {
    const p = Deno.writeTextFile("A/d/pwned.txt", "pwned");
    swap();
    const wrote = await p.then(() => true, () => false);
    unswap();
    // A successful write that did not land in the decoy directory went through the symlink.
    if (wrote && !exists("A/d/pwned.txt")) return `round ${i}: wrote through the symlink`;
    if (exists("A/d/pwned.txt")) Deno.removeSync("A/d/pwned.txt");
  }
  throw new Error(`no write in ${rounds} rounds`);
});
done();
