// Trust farming: 30 harmless allowed reads around each denied one, 300 times over.
let allowed = 0, denied = 0;
for (let d = 0; d < 300; d++) {
  for (let i = 0; i < 30; i++) {
    try {
      Deno.readTextFileSync("notes.txt");
      allowed++;
    } catch { /* a ring without the workspace */ }
  }
  try {
    Deno.readTextFileSync("/etc/hostname");
  } catch {
    denied++;
  }
}
console.log(JSON.stringify({ allowed, denied }));
