/** An unmodified framework's HTTP: global fetch of two URLs on one allowed host:port. */
import { attempt, done, params } from "./_attempt.ts";

const { port } = params<{ port: number }>();
for (const path of ["/public/a", "/private/b"]) {
  await attempt(
    `fetch ${path}`,
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return `${r.status} ${await r.text()}`;
    },
  );
}
done();
