/**
 * The test command's set-up: installs what the suite needs when it is missing and this machine
 * can (root with apt-get), else says what is missing in one line and fails — never a silent skip.
 *
 * `deno task test` runs this before `deno test`. Needs: a C compiler (the Landlock launcher and
 * the seccomp probes), Chromium (the console's browser tests), PostgreSQL 15 (fleet mode: the
 * fleet tests start a throwaway cluster themselves), python3 and curl (native-program agents).
 *
 * @module
 */

interface Need {
  /** What it is for, in the one-line message. */
  what: string;
  /** It is there when any of these paths exists (an env override may name another). */
  paths: string[];
  /** The Debian package that provides it. */
  apt: string;
}

const NEEDS: Need[] = [
  { what: "a C compiler", paths: ["/usr/bin/cc"], apt: "gcc" },
  {
    what: "Chromium",
    paths: [Deno.env.get("WARDEN_CHROMIUM") || "/usr/bin/chromium"],
    apt: "chromium",
  },
  {
    what: "PostgreSQL 15",
    paths: [
      Deno.env.get("WARDEN_PG_BIN")
        ? `${Deno.env.get("WARDEN_PG_BIN")}/initdb`
        : "/usr/lib/postgresql/15/bin/initdb",
    ],
    apt: "postgresql-15",
  },
  { what: "python3", paths: ["/usr/bin/python3", "/usr/local/bin/python3"], apt: "python3" },
  { what: "curl", paths: ["/usr/bin/curl"], apt: "curl" },
];

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const tail = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
    console.error(`test setup: ${cmd.join(" ")} failed: ${tail}`);
  }
  return out.success;
}

async function main(): Promise<number> {
  const missing = NEEDS.filter((n) => !n.paths.some(exists));
  if (missing.length === 0) return 0;
  const names = missing.map((n) => n.what).join(", ");
  const pkgs = missing.map((n) => n.apt);
  const root = Deno.uid() === 0;
  if (!root || !exists("/usr/bin/apt-get")) {
    console.error(
      `test setup: missing ${names}; install them (apt-get install ${pkgs.join(" ")})` +
        (root ? "" : " as root") + " and run the tests again",
    );
    return 1;
  }
  console.error(`test setup: installing ${names} (apt-get install ${pkgs.join(" ")})`);
  if (!await run(["apt-get", "update", "-qq"])) return 1;
  if (!await run(["apt-get", "install", "-y", "-qq", ...pkgs])) return 1;
  const still = missing.filter((n) => !n.paths.some(exists));
  if (still.length > 0) {
    console.error(
      `test setup: still missing after apt-get: ${still.map((n) => n.what).join(", ")}`,
    );
    return 1;
  }
  return 0;
}

Deno.exit(await main());
