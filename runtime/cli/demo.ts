/**
 * `deno task demo`: the policy engine deciding sample requests, hostile spellings included.
 * (The sandboxed-host demo replaces this when the host lands.)
 */
import { loadPolicy } from "../policy/loader.ts";

const policy = loadPolicy(new URL("../../policies/research.yaml", import.meta.url).pathname);
const agent = { id: "did:key:z6MkDemo", name: "researcher", ring: 2, trust: 640 };
const context = { workspace: "/srv/agents/researcher" };
const cases: [string, Record<string, unknown>][] = [
  ["read a workspace file", { action: "fs.read", resource: "/srv/agents/researcher/notes.md" }],
  ["escape the workspace with ..", {
    action: "fs.read",
    resource: "/srv/agents/researcher/../../../etc/passwd",
  }],
  ["GET the GitHub API", {
    action: "net.fetch",
    resource: "https://api.github.com/repos/denoland/deno",
    args: { method: "GET" },
  }],
  ["same host, odd spelling", {
    action: "net.fetch",
    resource: "HTTPS://API.GITHUB.COM./repos/x",
    args: { method: "GET" },
  }],
  ["userinfo host smuggling", {
    action: "net.fetch",
    resource: "https://api.github.com@evil.example/",
    args: { method: "GET" },
  }],
  ["POST to the API", {
    action: "net.fetch",
    resource: "https://api.github.com/gists",
    args: { method: "POST" },
  }],
  ["method as an array", {
    action: "net.fetch",
    resource: "https://api.github.com/",
    args: { method: ["GET"] },
  }],
  ["rm -rf through the shell tool", {
    action: "tool.call",
    resource: "shell",
    args: { command: "sudo rm -rf /" },
  }],
  ["command as an array", {
    action: "tool.call",
    resource: "shell",
    args: { command: ["rm", "-rf", "/"] },
  }],
  ["spawn a process", { action: "run", resource: "sh" }],
];
console.log(
  `policy ${
    policy.names.join(", ")
  }: ${policy.rules.length} rules, default ${policy.defaultEffect}\n`,
);
for (const [label, c] of cases) {
  const d = policy.evaluate({ agent, context, ...c });
  const mark = d.effect === "allow" ? "ALLOW" : d.effect === "deny" ? "DENY " : "ASK  ";
  console.log(
    `${mark}  ${label.padEnd(32)} ${String(c.action).padEnd(10)} ${
      String(c.resource).slice(0, 50)
    }`,
  );
  console.log(`       ${d.reason}`);
}
