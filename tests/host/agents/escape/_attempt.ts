/**
 * Shared by the escape agents: report each attempted operation as one line on stdout, and read
 * the test's parameters from params.json in the workspace (the agent's working directory).
 * Nothing here uses the Warden SDK: every operation is a raw Deno or node: call.
 */

/** Run one escape attempt and print how it went (the value is printed when it worked). */
export async function attempt(step: string, fn: () => unknown): Promise<boolean> {
  let line: Record<string, unknown>;
  try {
    const value = await fn();
    line = { step, ok: true, value: String(value).slice(0, 2000) };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    line = { step, ok: false, error: err.name, message: err.message.slice(0, 500) };
  }
  console.log("ESCAPE-ATTEMPT " + JSON.stringify(line));
  return line.ok as boolean;
}

/** The agent got through all of its attempts. */
export function done(): void {
  console.log("ESCAPE-DONE");
}

/** Parameters written by the test into the workspace. */
export function params<T = Record<string, string>>(): T {
  return JSON.parse(Deno.readTextFileSync("params.json")) as T;
}

/** Decode bytes (command output) to text. */
export function text(bytes: Uint8Array | undefined | null): string {
  return bytes ? new TextDecoder().decode(bytes) : "";
}
