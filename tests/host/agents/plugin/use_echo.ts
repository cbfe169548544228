// Calls the echo plugin's tools through the SDK and prints the outcomes as JSON lines.
import { tools, WardenError } from "../../../../sdk/mod.ts";

for (
  const [name, args] of [["echo.echo", { text: "hello" }], ["echo.peek", { path: "secret.txt" }], [
    "echo.echo",
    { text: 5 },
  ]] as const
) {
  try {
    console.log(JSON.stringify({ name, ok: true, result: await tools.call(name, args) }));
  } catch (e) {
    console.log(
      JSON.stringify({
        name,
        ok: false,
        code: (e as WardenError).code,
        message: (e as Error).message,
      }),
    );
  }
}
