/** Case 2: read the secret through node:fs. */
import fs from "node:fs";
import fsp from "node:fs/promises";
import { attempt, done, params } from "./_attempt.ts";

const { secret } = params();
await attempt("readFileSync", () => fs.readFileSync(secret, "utf8"));
await attempt("promises.readFile", () => fsp.readFile(secret, "utf8"));
await attempt("openSync+readSync", () => {
  const fd = fs.openSync(secret, "r");
  const buf = new Uint8Array(4096);
  const n = fs.readSync(fd, buf);
  fs.closeSync(fd);
  return new TextDecoder().decode(buf.subarray(0, n));
});
await attempt("createReadStream", () =>
  new Promise<string>((resolve, reject) => {
    let out = "";
    fs.createReadStream(secret, "utf8")
      .on("data", (c) => (out += c))
      .on("end", () => resolve(out))
      .on("error", reject);
  }));
done();
