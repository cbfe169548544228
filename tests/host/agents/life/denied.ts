// Keeps trying forbidden reads (each one is denied) until the host kills it.
for (let i = 0; i < 1000; i++) {
  try {
    Deno.readTextFileSync("/etc/passwd");
  } catch { /* denied */ }
}
console.log("still alive after 1000 denials");
