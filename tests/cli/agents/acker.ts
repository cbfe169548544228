// Makes SDK calls forever, printing "ack N" after each acknowledged one.
import { tools } from "../../../sdk/mod.ts";

for (let i = 0;; i++) {
  await tools.call("noop", {});
  console.log(`ack ${i}`);
}
