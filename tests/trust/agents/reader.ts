// Reads notes.txt from its workspace every 100 ms and reports what its Deno flags say.
for (let i = 0; i < 600; i++) {
  let read: string;
  try {
    read = Deno.readTextFileSync("notes.txt") === "notes" ? "ok" : "wrong";
  } catch (e) {
    read = (e as Error).name;
  }
  const flag = Deno.permissions.querySync({ name: "read", path: "notes.txt" }).state;
  console.log(JSON.stringify({ pid: Deno.pid, flag, read }));
  await new Promise((r) => setTimeout(r, 100));
}
