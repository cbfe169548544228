/**
 * Framework adapters: tools of an agent framework whose every call is decided (and audited) by
 * the Warden host, with a refusal coming back to the model through the framework's own
 * tool-error path. Each tool runs in `"worker"` mode (decided by the host, run here in the
 * sandboxed process) or `"host"` mode (the host-registered tool of that name runs).
 *
 * - {@link aiSdk}: Vercel AI SDK ToolSets (`wardenTools(toolSet)`).
 * - {@link langchain}: LangChain.js StructuredTools (`wardenTools([tool, ...])`).
 * - {@link openaiAgents}: OpenAI Agents JS FunctionTools (`wardenTools([tool, ...])`).
 *
 * Agents that use them import npm packages and so run bundled (`deno task run agent.ts
 * --bundle`). Import the one adapter module you need (`sdk/adapters/ai_sdk.ts`, …) to keep the
 * other frameworks out of the bundle.
 * @module
 */
export * as aiSdk from "./ai_sdk.ts";
export * as langchain from "./langchain.ts";
export * as openaiAgents from "./openai_agents.ts";
export {
  describeRefusal,
  type ExecutionMode,
  type GateOptions,
  type GateSetOptions,
  isWardenError,
  type Refusal,
  type ToolGate,
  toolGate,
  WardenToolError,
} from "./gate.ts";
