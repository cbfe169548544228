/**
 * The launcher's seccomp filter (issue 16 class 1): chdir and fchdir fail with EPERM for the
 * confined program and its children, and a syscall of a foreign ABI (x32 on x86_64) kills it.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { landlockSandbox } from "../../runtime/supervisor/sandbox/build.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("launcher: with --pin-cwd chdir fails with EPERM in the program and its children", async () => {
  const sb = landlockSandbox();
  if (!sb.path) throw new Error(`no launcher: ${sb.why}`);
  // Without the pin (rings that may run programs), chdir works: a spawn sets the child's cwd.
  const free = await new Deno.Command(sb.path, {
    args: ["--ro", "/", "--", "/bin/sh", "-c", "cd /tmp && pwd"],
    cwd: "/",
    stdout: "piped",
  }).output();
  assertEquals(text(free.stdout).trim(), "/tmp");
  const out = await new Deno.Command(sb.path, {
    args: [
      "--pin-cwd",
      "--ro",
      "/",
      "--",
      "/bin/sh",
      "-c",
      "cd /tmp || echo refused; sh -c 'cd / || echo child refused'; pwd",
    ],
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = text(out.stdout).trim().split("\n");
  assertEquals(lines, ["refused", "child refused", "/"], text(out.stderr));
  if (!/Operation not permitted|can't cd|can't cd to/.test(text(out.stderr))) {
    throw new Error(`expected EPERM from cd: ${text(out.stderr)}`);
  }
});

Deno.test("launcher: fchdir and chroot fail with EPERM; x32 and i386 syscalls kill the program", async () => {
  if (Deno.build.arch !== "x86_64") return; // the x32 ABI exists on x86_64 only
  const sb = landlockSandbox();
  if (!sb.path) throw new Error(`no launcher: ${sb.why}`);
  const dir = await Deno.makeTempDir({ prefix: "warden-x32-" });
  try {
    const src = join(dir, "x32.c");
    await Deno.writeTextFile(
      src,
      `#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "i386") == 0) {
    long r; /* getpid through the i386 entry point: seccomp sees AUDIT_ARCH_I386 */
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    printf("survived %ld\\n", r);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "chroot") == 0) {
    printf("chroot %s\\n", chroot("/") == 0 ? "ok" : strerror(errno));
    return 0;
  }
  if (argc > 1) {
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    printf("fchdir %s\\n", fchdir(fd) == 0 ? "ok" : strerror(errno));
    return 0;
  }
  long r = syscall(__NR_getpid | 0x40000000L);
  printf("survived %ld\\n", r);
  return 0;
}
`,
    );
    const bin = join(dir, "x32");
    const cc = await new Deno.Command("cc", { args: ["-o", bin, src], stderr: "piped" }).output();
    if (!cc.success) throw new Error(text(cc.stderr));
    // Unconfined the call just fails (ENOSYS on kernels without x32); confined it is killed.
    const plain = await new Deno.Command(bin, { stdout: "piped" }).output();
    assertEquals(text(plain.stdout).startsWith("survived"), true);
    const confined = await new Deno.Command(sb.path, {
      args: ["--ro", "/", "--", bin],
      stdout: "piped",
      stderr: "null",
    }).output();
    assertEquals([confined.signal, text(confined.stdout)], ["SIGSYS", ""]);
    const i386 = await new Deno.Command(sb.path, {
      args: ["--ro", "/", "--", bin, "i386"],
      stdout: "piped",
      stderr: "null",
    }).output();
    assertEquals([i386.signal, text(i386.stdout)], ["SIGSYS", ""]);
    const fchdir = await new Deno.Command(sb.path, {
      args: ["--pin-cwd", "--ro", "/", "--", bin, "fchdir"],
      stdout: "piped",
    }).output();
    assertEquals(text(fchdir.stdout), "fchdir Operation not permitted\n");
    const chroot = await new Deno.Command(sb.path, {
      args: ["--pin-cwd", "--ro", "/", "--", bin, "chroot"],
      stdout: "piped",
    }).output();
    assertEquals(text(chroot.stdout), "chroot Operation not permitted\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
