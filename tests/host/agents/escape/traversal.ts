/** Case 15: reach the secret by `..` traversal and through symlinks planted in the workspace. */
import { attempt, done, params } from "./_attempt.ts";

const { relative, link, dirLink } = params();
await attempt("relative ..", () => Deno.readTextFileSync(relative));
await attempt("workspace/../..", () => Deno.readTextFileSync(`${Deno.cwd()}/${relative}`));
await attempt("symlink to secret", () => Deno.readTextFileSync(link));
await attempt("symlink to secret dir", () => Deno.readTextFileSync(`${dirLink}/secret.json`));
await attempt("dir symlink/..", () => Deno.readTextFileSync(`${dirLink}/../secret.json`));
done();
