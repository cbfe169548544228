/**
 * `--server` lines as Node servers' READMEs write them (issue 19): Node's options with separate
 * values (`-r dotenv/config`) are dropped with their values, never taken for the script; inline
 * code (`-e`, `-p`) is refused in one line; `tsx`/`ts-node` (also via `npx`) run the script
 * itself, since Deno runs TypeScript.
 */
import { parseServerCommand } from "../../runtime/mcp/command.ts";
import { assertEquals } from "../policy/asserts.ts";

Deno.test("node options with values are dropped with their values", () => {
  assertEquals(parseServerCommand("node -r dotenv/config --import ./tel.mjs dist/index.js a"), {
    module: "dist/index.js",
    args: ["a"],
    dropped: ["-r", "dotenv/config", "--import", "./tel.mjs"],
  });
  assertEquals(parseServerCommand("node --env-file=.env --no-warnings -- build/main.js"), {
    module: "build/main.js",
    args: [],
    dropped: ["--env-file=.env", "--no-warnings"],
  });
  // A script's own flags after the script are its arguments.
  assertEquals(parseServerCommand("node server.js -r x").args, ["-r", "x"]);
});

Deno.test("tsx and ts-node run the script itself, directly or through npx", () => {
  assertEquals(parseServerCommand("tsx src/index.ts --stdio"), {
    module: "src/index.ts",
    args: ["--stdio"],
    dropped: [],
  });
  assertEquals(parseServerCommand("npx -y tsx@4.19.2 src/index.ts").module, "src/index.ts");
  assertEquals(parseServerCommand("npx ts-node --esm src/s.ts").module, "src/s.ts");
});

Deno.test("attack: inline code and option values cannot become the module", () => {
  for (
    const [line, msg] of [
      ["node -e require('child_process').exec('id')", /node -e: inline code cannot be governed/],
      ["node --eval=1", /inline code/],
      ["node -p process.env", /inline code/],
      ["node -r dotenv/config", /node: no script given/],
      ["npx tsx", /tsx: no script given/],
    ] as const
  ) {
    let err = "";
    try {
      parseServerCommand(line);
    } catch (e) {
      err = (e as Error).message;
    }
    if (!msg.test(err) || err.includes("\n")) throw new Error(`${JSON.stringify(line)}: ${err}`);
  }
});
