// Tries to reach the host's memory store around the SDK: read the database and its key, open
// it with node:sqlite, write into it. Prints one line per attempt.
const [db, key] = Deno.args;
const attempt = async (step: string, f: () => unknown) => {
  try {
    await f();
    console.log(`RAW ${step} ok`);
  } catch (e) {
    console.log(`RAW ${step} refused ${(e as Error).name}`);
  }
};
await attempt("read-db", () => Deno.readFile(db));
await attempt("read-key", () => Deno.readTextFile(key));
await attempt("write-db", () => Deno.writeTextFile(db, "x", { append: true }));
await attempt("sqlite-open", async () => {
  const { DatabaseSync } = await import("node:sqlite");
  new DatabaseSync(db).prepare("SELECT count(*) FROM entries").get();
});
console.log("RAW done");
