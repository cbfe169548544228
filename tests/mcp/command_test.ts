/** `--server` command lines: what runs in the worker process, and what is refused. */
import { parseServerCommand, splitWords } from "../../runtime/mcp/command.ts";
import { assertEquals } from "../policy/asserts.ts";

Deno.test("splitWords: quotes and escapes without a shell", () => {
  assertEquals(splitWords(`a 'b c' "d \\"e\\"" f\\ g ''`), ["a", "b c", 'd "e"', "f g", ""]);
  assertEquals(splitWords("  x\t y  "), ["x", "y"]);
});

Deno.test("parseServerCommand: the forms an MCP client config uses", () => {
  assertEquals(parseServerCommand("server.ts --flag 1"), {
    module: "server.ts",
    args: ["--flag", "1"],
    dropped: [],
  });
  assertEquals(parseServerCommand("deno run -A --config x.json s.ts a"), {
    module: "s.ts",
    args: ["a"],
    dropped: ["-A", "--config", "x.json"],
  });
  assertEquals(parseServerCommand("/usr/bin/node --no-warnings dist/index.js stdio"), {
    module: "dist/index.js",
    args: ["stdio"],
    dropped: ["--no-warnings"],
  });
  assertEquals(parseServerCommand("npx -y @modelcontextprotocol/server-memory"), {
    module: "npm:@modelcontextprotocol/server-memory",
    args: [],
    dropped: ["-y"],
  });
  assertEquals(parseServerCommand("npm:pkg@1.0.0 x").module, "npm:pkg@1.0.0");
});

Deno.test("parseServerCommand: refuses what would run outside the broker", () => {
  for (
    const [line, msg] of [
      ["python3 server.py", /cannot govern "python3"/],
      ["./server", /cannot govern/],
      ["deno serve s.ts", /only "deno run"/],
      ["deno run -A", /no module/],
      ["", /empty/],
    ] as const
  ) {
    let err = "";
    try {
      parseServerCommand(line);
    } catch (e) {
      err = (e as Error).message;
    }
    if (!msg.test(err)) throw new Error(`${JSON.stringify(line)}: ${err}`);
  }
});
