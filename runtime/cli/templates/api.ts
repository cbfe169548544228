/**
 * A tiny loopback API for the agent to fetch from (written by `deno task init`; not governed,
 * not part of the agent): `deno run --allow-net=127.0.0.1:8787 api.ts`.
 */
const port = 8787;

Deno.serve({ hostname: "127.0.0.1", port }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/api/hello") return Response.json({ message: "hello from the loopback API" });
  if (path === "/api/time") return Response.json({ time: new Date().toISOString() });
  return new Response("not found\n", { status: 404 });
});
