/**
 * Output rules on an agent's raw stdout and stderr (channel `stdio`), line by line as the CLI
 * prints them: a matching line is printed redacted, a denied one is replaced by a line naming
 * the rule. A private key spans lines: once a line opens a PEM private key block (BEGIN without
 * END) and a rule matched it, every following line up to the END line is withheld too.
 * @module
 */
import { marker } from "../../governance/outputs/mod.ts";
import type { Governor, Subject } from "../governor.ts";
import { guardOutput } from "./guard.ts";

const BEGIN = /-----BEGIN[A-Z0-9 ]*PRIVATE ?KEY/;
const END = /-----END[A-Z0-9 ]*PRIVATE ?KEY/;

/** A line filter for one stream of one agent (keeps the state a PEM block needs). */
export function stdioFilter(
  governor: Governor,
  subject: Subject,
  stream: "stdout" | "stderr",
): (line: string) => string {
  let inKey: string | null = null;
  return (line) => {
    if (inKey !== null) {
      if (END.test(line)) {
        const rule = inKey;
        inKey = null;
        return marker(rule);
      }
      return marker(inKey);
    }
    const g = guardOutput(
      { governor, subject, path: "host", channel: "stdio", resource: stream },
      line,
    );
    const opens = BEGIN.test(line) && !END.test(line);
    if (!g.ok) {
      if (opens) inKey = g.rule ?? "output-rules";
      return `[line withheld by output rules: ${g.reason}]`;
    }
    if (g.redacted && opens) inKey = g.rule ?? "output-rules";
    return g.value as string;
  };
}
