/** Shared setup of the kernel tests: a host for one test, closed after it. */
import type { AgentHost, HostOptions } from "../../runtime/host.ts";
import { newHost } from "../host/helpers.ts";

/** Run `fn` with a host made from `o` (the shipped policy and rings), then close it. */
export async function withHost(
  fn: (h: AgentHost) => Promise<void>,
  o: Partial<HostOptions> = {},
): Promise<void> {
  const host = newHost(o);
  try {
    await fn(host);
  } finally {
    await host.close();
  }
}
