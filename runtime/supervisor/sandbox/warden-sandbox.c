/*
 * warden-sandbox: confine a program with Landlock and seccomp, then exec it. One file on
 * purpose, over the ~400-line guideline: the host compiles it with cc at run time (build.ts)
 * as a single translation unit, and build.ts reads the deny list from this source.
 *
 *   warden-sandbox [--abi] [--pin-cwd] [--seccomp=minimal|kernel|full] [--tcp] [--no-inet]
 *                  [--tcp-connect PORT]... [--tcp-bind PORT]... [--scope]
 *                  [--ro PATH]... [--rw PATH]... -- PROGRAM [ARGS]...
 *
 * --ro paths may be read (and executed); --rw paths may also be written, created and removed.
 * Everything else on the filesystem is out of reach for PROGRAM and all its descendants,
 * enforced by the kernel: a path the permission broker approved cannot be swapped for one
 * outside these trees between the check and the open. Exit 78 when Landlock is unavailable.
 * --abi prints the kernel's Landlock ABI version and exits.
 *
 * --tcp (Landlock ABI >= 4) refuses every TCP bind(2) and connect(2) except to the ports named
 * by --tcp-bind / --tcp-connect; MPTCP sockets, which those rules do not see, are then refused
 * by seccomp. --no-inet refuses every IPv4, IPv6 and packet socket (UDP, SCTP, raw: what
 * Landlock does not cover) by seccomp. --scope (ABI >= 6) refuses connecting to abstract unix
 * sockets created outside the sandbox and sending signals to processes outside it. Asking
 * for a rule the kernel cannot enforce fails (exit 78): never a silent fallback.
 *
 * --seccomp picks the syscall deny list (see DENIED below and README "Kernel layers"):
 * minimal (the default) refuses only foreign-ABI syscalls; kernel adds the kernel-attack
 * surface (namespaces, mounts, keyrings, bpf, perf, kexec, modules, io_uring, userfaultfd,
 * clock and host settings, the kernel log, quotas, raw I/O ports, file handles); full also
 * refuses reaching into other processes (ptrace, process_vm_readv/writev, pidfd_getfd,
 * process_madvise, kcmp) and personality changes.
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
#include <sys/socket.h>
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

/* Landlock network (ABI 4) and scope (ABI 6) rules, spelled out for older headers. */
struct ruleset_attr_v6 {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
struct net_port_attr {
  uint64_t allowed_access;
  uint64_t port;
};
#define RULE_NET_PORT 2
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

/*
 * The seccomp filter, table-driven: the ABI this launcher was built for, and the syscalls
 * refused to PROGRAM with the errno they fail with, per profile. EPERM for every refusal (a
 * program that probes a facility sees "not permitted" and carries on; the call never reaches
 * the kernel code behind it either way); ENOSYS where a runtime must fall back (clone3, whose
 * flags seccomp cannot read, makes glibc use clone(2), whose flags are checked; io_uring makes
 * libraries use plain syscalls). Only a foreign-ABI syscall kills: it can only be an attempt to
 * reach syscalls by numbers this filter does not check.
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

enum profile { P_MINIMAL = 0, P_KERNEL = 1, P_FULL = 2 };

struct denied_syscall {
  long nr;
  int err;
  enum profile from; /* the least profile that refuses it */
};
static const struct denied_syscall DENIED[] = {
    /* other processes' memory (full): Landlock already limits ptrace to the sandbox */
    {__NR_ptrace, EPERM, P_FULL},
    {__NR_process_vm_readv, EPERM, P_FULL},
    {__NR_process_vm_writev, EPERM, P_FULL},
#ifdef __NR_pidfd_getfd
    {__NR_pidfd_getfd, EPERM, P_FULL},
#endif
#ifdef __NR_process_madvise
    {__NR_process_madvise, EPERM, P_FULL},
#endif
    {__NR_kcmp, EPERM, P_FULL},
    /* mounts and namespaces */
    {__NR_mount, EPERM, P_KERNEL},
    {__NR_umount2, EPERM, P_KERNEL},
    {__NR_pivot_root, EPERM, P_KERNEL},
#ifdef __NR_open_tree
    {__NR_open_tree, EPERM, P_KERNEL},
    {__NR_move_mount, EPERM, P_KERNEL},
    {__NR_fsopen, EPERM, P_KERNEL},
    {__NR_fsconfig, EPERM, P_KERNEL},
    {__NR_fsmount, EPERM, P_KERNEL},
    {__NR_fspick, EPERM, P_KERNEL},
#endif
#ifdef __NR_mount_setattr
    {__NR_mount_setattr, EPERM, P_KERNEL},
#endif
    {__NR_unshare, EPERM, P_KERNEL},
    {__NR_setns, EPERM, P_KERNEL},
#ifdef __NR_clone3
    {__NR_clone3, ENOSYS, P_KERNEL},
#endif
    /* keyrings, bpf, perf, kexec, modules */
    {__NR_keyctl, EPERM, P_KERNEL},
    {__NR_add_key, EPERM, P_KERNEL},
    {__NR_request_key, EPERM, P_KERNEL},
    {__NR_bpf, EPERM, P_KERNEL},
    {__NR_perf_event_open, EPERM, P_KERNEL},
#ifdef __NR_kexec_load
    {__NR_kexec_load, EPERM, P_KERNEL},
#endif
#ifdef __NR_kexec_file_load
    {__NR_kexec_file_load, EPERM, P_KERNEL},
#endif
    {__NR_init_module, EPERM, P_KERNEL},
    {__NR_finit_module, EPERM, P_KERNEL},
    {__NR_delete_module, EPERM, P_KERNEL},
    /* io_uring (its operations bypass this filter) and userfaultfd (race widening) */
#ifdef __NR_io_uring_setup
    {__NR_io_uring_setup, ENOSYS, P_KERNEL},
    {__NR_io_uring_enter, ENOSYS, P_KERNEL},
    {__NR_io_uring_register, ENOSYS, P_KERNEL},
#endif
    {__NR_userfaultfd, EPERM, P_KERNEL},
    /* host settings */
    {__NR_acct, EPERM, P_KERNEL},
    {__NR_swapon, EPERM, P_KERNEL},
    {__NR_swapoff, EPERM, P_KERNEL},
    {__NR_reboot, EPERM, P_KERNEL},
    {__NR_settimeofday, EPERM, P_KERNEL},
    {__NR_clock_settime, EPERM, P_KERNEL},
    {__NR_clock_adjtime, EPERM, P_KERNEL},
    {__NR_adjtimex, EPERM, P_KERNEL},
    {__NR_sethostname, EPERM, P_KERNEL},
    {__NR_setdomainname, EPERM, P_KERNEL},
#ifdef __NR_iopl
    {__NR_iopl, EPERM, P_KERNEL},
    {__NR_ioperm, EPERM, P_KERNEL},
#endif
#ifdef __NR_lookup_dcookie
    {__NR_lookup_dcookie, EPERM, P_KERNEL},
#endif
    {__NR_syslog, EPERM, P_KERNEL}, /* the kernel log: addresses for an exploit */
    {__NR_quotactl, EPERM, P_KERNEL},
    {__NR_name_to_handle_at, EPERM, P_KERNEL},
    {__NR_open_by_handle_at, EPERM, P_KERNEL},
};
#define N_DENIED (sizeof(DENIED) / sizeof(DENIED[0]))

/* The working-directory pin (--pin-cwd). */
static const long PINNED[] = {__NR_chdir, __NR_fchdir, __NR_chroot};
#define N_PINNED (sizeof(PINNED) / sizeof(PINNED[0]))

/* clone(2) flags that make a new namespace (CLONE_NEWTIME is clone3/unshare only). */
#define NS_FLAGS 0x7E020000U /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */

#define MAX_PROG 256
#define ARG0_LO offsetof(struct seccomp_data, args[0]) /* little-endian: low word first */

/* Socket families refused with --no-inet, and MPTCP's protocol number. */
static const uint32_t IP_FAMILIES[] = {AF_INET, AF_INET6, AF_PACKET};
#define IPPROTO_MPTCP_NR 262

static int install_syscall_filter(int pin_cwd, enum profile prof, int tcp, int no_inet) {
  struct sock_filter prog[MAX_PROG];
  size_t n = 0;
#define EMIT(x) \
  do { \
    if (n >= MAX_PROG) { \
      fputs("warden-sandbox: seccomp program too long\n", stderr); \
      return -1; \
    } \
    prog[n++] = (struct sock_filter)x; \
  } while (0)
  /* Arch first: a syscall of another ABI is never matched against this ABI's numbers. */
  EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0));
  EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
  if (FOREIGN_NR_BIT) {
    EMIT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, FOREIGN_NR_BIT, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  }
  for (size_t k = 0; pin_cwd && k < N_PINNED; k++) {
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)PINNED[k], 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  }
  for (size_t k = 0; k < N_DENIED; k++) {
    if (DENIED[k].from > prof) continue;
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)DENIED[k].nr, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (DENIED[k].err & SECCOMP_RET_DATA)));
  }
  if (no_inet || tcp) {
    /* socket(2): with --no-inet no IP or packet socket at all (UDP, SCTP, raw, MPTCP: what
     * Landlock's TCP rules do not see); with --tcp no MPTCP socket, which they miss too. */
    size_t at = n;
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)); /* patched below */
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
    for (size_t k = 0; no_inet && k < sizeof(IP_FAMILIES) / sizeof(IP_FAMILIES[0]); k++) {
      EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IP_FAMILIES[k], 0, 1));
      EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
    }
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 3));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_MPTCP_NR, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    prog[at] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0,
                                            (uint8_t)(n - at - 1));
  }
  if (prof >= P_KERNEL) {
    /* clone(2) with a namespace flag: EPERM; threads and plain forks pass. */
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  }
  if (prof >= P_KERNEL) {
    /* ioctl(2) TIOCSTI and TIOCLINUX: typing into (or driving) a terminal the program inherited. */
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 4));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5412U /* TIOCSTI */, 1, 0));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x541CU /* TIOCLINUX */, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  }
  if (prof >= P_FULL) {
    /* personality(2): only the query (0xffffffff) and the current value pass. */
    uint32_t current = (uint32_t)syscall(__NR_personality, 0xffffffffUL);
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_personality, 0, 4));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffU, 2, 0));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, current, 1, 0));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
  }
  EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef EMIT
  struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};
  /* TSYNC: every thread of this process gets the filter (there is one; be exact anyway). */
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0) {
    fprintf(stderr, "warden-sandbox: cannot install the seccomp filter: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

static int parse_port(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v > 65535) return -1;
  *out = v;
  return 0;
}

static int add_port(int ruleset, uint64_t access, const char *spec) {
  struct net_port_attr np = {.allowed_access = access};
  if (parse_port(spec, &np.port) != 0) {
    fprintf(stderr, "warden-sandbox: not a TCP port: %s\n", spec);
    return -1;
  }
  if (sys_add_rule(ruleset, RULE_NET_PORT, &np, 0) != 0) {
    fprintf(stderr, "warden-sandbox: cannot add TCP port rule %s: %s\n", spec, strerror(errno));
    return -1;
  }
  return 0;
}

static const char USAGE[] =
    "usage: warden-sandbox [--abi] [--pin-cwd] [--seccomp=minimal|kernel|full] [--tcp] [--no-inet] "
    "[--tcp-connect PORT]... [--tcp-bind PORT]... [--scope] [--ro PATH]... [--rw PATH]... "
    "-- PROGRAM [ARGS]...\n";

int main(int argc, char **argv) {
  int pin_cwd = 0, tcp = 0, scope = 0, no_inet = 0;
  enum profile prof = P_MINIMAL;
  int abi = sys_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) {
    fprintf(stderr, "warden-sandbox: Landlock is not available: %s\n", strerror(errno));
    return 78;
  }
  /* First pass: the switches that shape the ruleset and the filter. */
  int prog_at = argc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      prog_at = i + 1;
      break;
    }
    if (strcmp(a, "--abi") == 0) {
      printf("%d\n", abi);
      return 0;
    } else if (strcmp(a, "--pin-cwd") == 0) pin_cwd = 1;
    else if (strcmp(a, "--tcp") == 0) tcp = 1;
    else if (strcmp(a, "--scope") == 0) scope = 1;
    else if (strcmp(a, "--no-inet") == 0) no_inet = 1;
    else if (strcmp(a, "--seccomp=minimal") == 0) prof = P_MINIMAL;
    else if (strcmp(a, "--seccomp=kernel") == 0) prof = P_KERNEL;
    else if (strcmp(a, "--seccomp=full") == 0) prof = P_FULL;
    else if (strcmp(a, "--ro") == 0 || strcmp(a, "--rw") == 0 || strcmp(a, "--tcp-connect") == 0 ||
             strcmp(a, "--tcp-bind") == 0) {
      if (i + 1 >= argc) break;
      i++;
    } else {
      fprintf(stderr, "warden-sandbox: unknown option %s\n", a);
      return 2;
    }
  }
  if (prog_at >= argc) {
    fputs(USAGE, stderr);
    return 2;
  }
  if (tcp && abi < 4) {
    fprintf(stderr, "warden-sandbox: Landlock ABI %d has no TCP rules (needs 4)\n", abi);
    return 78;
  }
  if (scope && abi < 6) {
    fprintf(stderr, "warden-sandbox: Landlock ABI %d has no scope rules (needs 6)\n", abi);
    return 78;
  }
  uint64_t handled = handled_for_abi(abi);
  struct ruleset_attr_v6 attr = {
      .handled_access_fs = handled,
      .handled_access_net = tcp ? (NET_BIND_TCP | NET_CONNECT_TCP) : 0,
      .scoped = scope ? (SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL) : 0,
  };
  size_t attr_size = scope ? sizeof(attr) : tcp ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  int ruleset = sys_create_ruleset((const struct landlock_ruleset_attr *)&attr, attr_size, 0);
  if (ruleset < 0) {
    fprintf(stderr, "warden-sandbox: cannot create a Landlock ruleset: %s\n", strerror(errno));
    return 78;
  }
  /* Second pass: the rules. */
  for (int i = 1; i + 1 < prog_at; i++) {
    const char *a = argv[i];
    int r = 0;
    if (strcmp(a, "--ro") == 0) r = add_path(ruleset, argv[++i], RO_RIGHTS, handled);
    else if (strcmp(a, "--rw") == 0) r = add_path(ruleset, argv[++i], handled, handled);
    else if (strcmp(a, "--tcp-connect") == 0 || strcmp(a, "--tcp-bind") == 0) {
      if (!tcp) {
        fprintf(stderr, "warden-sandbox: %s needs --tcp\n", a);
        return 2;
      }
      r = add_port(ruleset, a[6] == 'c' ? NET_CONNECT_TCP : NET_BIND_TCP, argv[++i]);
    }
    if (r != 0) return 1;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || sys_restrict_self(ruleset, 0) != 0) {
    fprintf(stderr, "warden-sandbox: cannot restrict: %s\n", strerror(errno));
    return 1;
  }
  close(ruleset);
  if (install_syscall_filter(pin_cwd, prof, tcp, no_inet) != 0) return 1;
  execv(argv[prog_at], &argv[prog_at]);
  fprintf(stderr, "warden-sandbox: cannot exec %s: %s\n", argv[prog_at], strerror(errno));
  return 127;
}
