// Reads its notes, then touches key material (a critical violation), then reads notes again.
const read = (p: string) => {
  try {
    Deno.readTextFileSync(p);
    console.log(`read ${p}: ok`);
  } catch (e) {
    console.log(`read ${p}: ${(e as Error).name}`);
  }
};
read("notes.txt");
read("id_rsa");
read("notes.txt");
