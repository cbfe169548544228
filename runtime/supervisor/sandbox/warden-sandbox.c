/*
 * warden-sandbox: confine a program's filesystem access with Landlock, then exec it.
 *
 *   warden-sandbox [--pin-cwd] [--ro PATH]... [--rw PATH]... -- PROGRAM [ARGS]...
 *
 * --ro paths may be read (and executed); --rw paths may also be written, created and removed.
 * Everything else on the filesystem is out of reach for PROGRAM and all its descendants,
 * enforced by the kernel: a path the permission broker approved cannot be swapped for one
 * outside these trees between the check and the open. Exit 78 when Landlock is unavailable.
 *
 * With --pin-cwd the working directory is pinned too: a seccomp filter makes chdir(2) and
 * fchdir(2) (and chroot(2)) fail with EPERM for PROGRAM, all its threads and all its
 * descendants, so a
 * relative path always means the directory the host started it in (the broker resolves
 * relative paths against that directory; a cwd flipped between the broker's check and the
 * kernel's open would otherwise change which file is opened). The host pins the cwd of every
 * agent whose ring may not start processes: spawning a child sets its cwd with chdir(2), and
 * a ring that may run programs is bounded by the kernel rules alone anyway (a child program
 * never asks the broker). Syscalls of a foreign ABI (x32, i386 on x86_64) always kill the
 * process. When the filter cannot be installed the launcher fails: never a silent fallback.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define FILE_RIGHTS_V1 (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE)
#define RO_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

static int sys_create_ruleset(const struct landlock_ruleset_attr *a, size_t s, uint32_t f) {
  return (int)syscall(__NR_landlock_create_ruleset, a, s, f);
}
static int sys_add_rule(int fd, enum landlock_rule_type t, const void *a, uint32_t f) {
  return (int)syscall(__NR_landlock_add_rule, fd, t, a, f);
}
static int sys_restrict_self(int fd, uint32_t f) {
  return (int)syscall(__NR_landlock_restrict_self, fd, f);
}

static uint64_t handled_for_abi(int abi) {
  uint64_t h = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
  if (abi >= 2) h |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) h |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return h;
}

static int add_path(int ruleset, const char *path, uint64_t rights, uint64_t handled) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0; /* an optional system path that does not exist here */
    fprintf(stderr, "warden-sandbox: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return -1;
  }
  uint64_t allowed = rights & handled;
  if (!S_ISDIR(st.st_mode)) {
    allowed &= FILE_RIGHTS_V1 | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
  }
  struct landlock_path_beneath_attr pb = {.allowed_access = allowed, .parent_fd = fd};
  int r = sys_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
  close(fd);
  if (r != 0) {
    fprintf(stderr, "warden-sandbox: cannot add rule for %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/*
 * The seccomp filter, table-driven: the ABI this launcher was built for, and the syscalls
 * refused to PROGRAM with the errno they fail with. Extend DENIED to refuse more.
 */
#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#define FOREIGN_NR_BIT 0x40000000U /* x32 syscalls share the arch value: refuse them */
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#define FOREIGN_NR_BIT 0
#else
#error "warden-sandbox: no seccomp arch entry for this architecture"
#endif

struct denied_syscall {
  long nr;
  int err;
};
static const struct denied_syscall DENIED[] = {
    {__NR_chdir, EPERM},
    {__NR_fchdir, EPERM},
    {__NR_chroot, EPERM}, /* a new root would re-point every absolute path the same way */
};
#define N_DENIED (sizeof(DENIED) / sizeof(DENIED[0]))

static int install_syscall_filter(int pin_cwd) {
  struct sock_filter prog[8 + 2 * N_DENIED];
  size_t n = 0;
  /* Arch first: a syscall of another ABI is never matched against this ABI's numbers. */
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  if (FOREIGN_NR_BIT) {
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, FOREIGN_NR_BIT, 0, 1);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  }
  for (size_t k = 0; pin_cwd && k < N_DENIED; k++) {
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)DENIED[k].nr, 0, 1);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (DENIED[k].err & SECCOMP_RET_DATA));
  }
  prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};
  /* TSYNC: every thread of this process gets the filter (there is one; be exact anyway). */
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0) {
    fprintf(stderr, "warden-sandbox: cannot install the seccomp filter: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int i = 1;
  int pin_cwd = 0;
  int abi = sys_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) {
    fprintf(stderr, "warden-sandbox: Landlock is not available: %s\n", strerror(errno));
    return 78;
  }
  uint64_t handled = handled_for_abi(abi);
  struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
  int ruleset = sys_create_ruleset(&attr, sizeof(attr), 0);
  if (ruleset < 0) {
    fprintf(stderr, "warden-sandbox: cannot create a Landlock ruleset: %s\n", strerror(errno));
    return 78;
  }
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(argv[i], "--pin-cwd") == 0) {
      pin_cwd = 1;
      continue;
    }
    if (i + 1 >= argc) break;
    uint64_t rights;
    if (strcmp(argv[i], "--ro") == 0) rights = RO_RIGHTS;
    else if (strcmp(argv[i], "--rw") == 0) rights = handled;
    else {
      fprintf(stderr, "warden-sandbox: unknown option %s\n", argv[i]);
      return 2;
    }
    if (add_path(ruleset, argv[i + 1], rights, handled) != 0) return 1;
    i++;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: warden-sandbox [--pin-cwd] [--ro PATH]... [--rw PATH]... -- PROGRAM [ARGS]...\n");
    return 2;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || sys_restrict_self(ruleset, 0) != 0) {
    fprintf(stderr, "warden-sandbox: cannot restrict: %s\n", strerror(errno));
    return 1;
  }
  close(ruleset);
  if (install_syscall_filter(pin_cwd) != 0) return 1;
  execv(argv[i], &argv[i]);
  fprintf(stderr, "warden-sandbox: cannot exec %s: %s\n", argv[i], strerror(errno));
  return 127;
}
