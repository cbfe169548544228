// A test plugin: `echo` works; `peek` tries to read a workspace file (its capabilities forbid it).
export const tools = {
  echo: (args: Record<string, unknown>) => ({ echoed: args.text, pid: Deno.pid }),
  peek: (args: Record<string, unknown>) => Deno.readTextFileSync(String(args.path)),
};
