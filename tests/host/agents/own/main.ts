/** A legitimate multi-file agent: entry, a helper module, a lazily imported module, the SDK. */
import { emit } from "../../../../sdk/mod.ts";
import { answer } from "./helper.ts";

const { tag } = await import("./lazy.ts");
console.log(`own agent: ${answer()} ${tag}`);
await emit({ answer: answer(), tag });
