/*
 * warden-sandbox: confine a program with Landlock and seccomp, then exec it. One file on
 * purpose, over the ~400-line guideline: the host compiles it with cc at run time (build.ts)
 * as a single translation unit, and build.ts reads the deny list from this source.
 *
 *   warden-sandbox [--abi] [--pin-cwd] [--seccomp=minimal|kernel|full] [--tcp] [--no-inet]
 *                  [--tcp-connect PORT]... [--tcp-bind PORT]... [--scope]
 *                  [--netns] [--egress PORT:SOCKET]
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
 * --netns puts PROGRAM in a network namespace of its own (unshare(2) CLONE_NEWNET; without
 * CAP_SYS_ADMIN inside a user namespace that maps only the caller's uid and gid) with nothing but
 * a loopback interface, brought up: no route out, no resolver (/etc/resolv.conf's server is
 * unreachable), no host loopback service. --egress PORT:SOCKET (needs --netns) binds
 * 127.0.0.1:PORT inside that namespace before PROGRAM starts and forks a forwarder that relays
 * each connection to the unix socket SOCKET (the host's egress proxy, which decides every request
 * and connection); the forwarder dies with PROGRAM (PR_SET_PDEATHSIG) and touches nothing else.
 * Exit 78 when the namespace cannot be made: never a silent fallback.
 *
 * --seccomp picks the syscall deny list (see DENIED below and README "Kernel layers"):
 * minimal (the default) refuses only foreign-ABI syscalls; kernel adds the kernel-attack
 * surface (namespaces, mounts, keyrings, bpf, perf, kexec, modules, io_uring, userfaultfd,
 * clock and host settings, the kernel log, quotas, raw I/O ports, file handles); full also
 * refuses reaching into other processes (ptrace, process_vm_readv/writev, pidfd_getfd,
 * process_madvise, kcmp) and personality changes.
 *
 * With --no-exec PROGRAM and its descendants can start no program at all (the rings that may
 * not run programs): the launcher opens PROGRAM, moves the descriptor above RLIMIT_NOFILE, which
 * it lowers under that number, and execs it with execveat(2); seccomp then refuses execve(2),
 * every execveat(2) but from that descriptor number (which PROGRAM can never hold) and any
 * change of RLIMIT_NOFILE. Landlock alone cannot do this: the dynamic loader must stay
 * executable, and it runs any readable file as a program.
 *
 * --no-unix refuses creating unix sockets (socket(2) AF_UNIX; socketpair(2) still works):
 * Landlock does not guard connect(2) to a socket path, so without it PROGRAM could reach any
 * listening socket on the host. --unix-fd SOCKET connects to SOCKET first and hands PROGRAM
 * that one connection (its number in WARDEN_UNIX_FD).
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
#include <sys/resource.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
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

/* "Refused" by returning 0 without running the call (SECCOMP_RET_ERRNO with no errno). */
#define EIGNORED 0

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452 /* Linux 6.6, the same number on every architecture */
#endif

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
    /* file modes, owners and extended attributes by path: Landlock has no right for them, so
     * a root program could chmod or chown any file it can name (full). A mode change is
     * ignored (it returns 0 and changes nothing: runtimes chmod their own cache directories
     * and fail when refused); owners and attributes are refused. */
    {__NR_chmod, EIGNORED, P_FULL},
    {__NR_fchmodat, EIGNORED, P_FULL},
    {__NR_fchmodat2, EIGNORED, P_FULL},
    {__NR_chown, EPERM, P_FULL},
    {__NR_lchown, EPERM, P_FULL},
    {__NR_fchownat, EPERM, P_FULL},
    {__NR_setxattr, EPERM, P_FULL},
    {__NR_lsetxattr, EPERM, P_FULL},
    {__NR_removexattr, EPERM, P_FULL},
    {__NR_lremovexattr, EPERM, P_FULL},
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

/* With --no-exec: RLIMIT_NOFILE, which seccomp keeps PROGRAM from raising again. */
#define RLIMIT_NOFILE_NR 7
/* --no-unix: socket(AF_UNIX) refused (Landlock does not guard connecting to a socket path). */
static int no_unix;

static int install_syscall_filter(int pin_cwd, enum profile prof, int tcp, int no_inet,
                                  int exec_fd) {
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
  if (no_unix) {
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
  }
  if (exec_fd >= 0) {
    /* --no-exec: execve(2) never; execveat(2) only from exec_fd, a descriptor number above
     * PROGRAM's RLIMIT_NOFILE (so PROGRAM can never hold one by that number), which the
     * launcher's own exec uses; setrlimit/prlimit64 may not change RLIMIT_NOFILE. */
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 0, 6));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)exec_fd, 0, 2));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO + 4));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#ifdef __NR_setrlimit
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setrlimit, 0, 3));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RLIMIT_NOFILE_NR, 0, 1));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
#endif
    /* prlimit64(pid, RLIMIT_NOFILE, new != NULL, old): refused; reading it passes. */
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prlimit64, 0, 7));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RLIMIT_NOFILE_NR, 0, 5));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + 4));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
    EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
    EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
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


/* Write `text` to `path` (the user namespace's id maps). */
static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* A network namespace of its own with `lo` up (--netns). */
static int enter_netns(void) {
  if (unshare(CLONE_NEWNET) != 0) {
    if (errno != EPERM) return -1;
    /* Unprivileged: a user namespace mapping only our own ids, then the network namespace. */
    uid_t uid = geteuid();
    gid_t gid = getegid();
    char map[64];
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return -1;
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (write_file("/proc/self/uid_map", map) != 0) return -1;
    if (write_file("/proc/self/setgroups", "deny") != 0) return -1;
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    if (write_file("/proc/self/gid_map", map) != 0) return -1;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int r = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    r = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
  return r;
}

/*
 * The forwarder and its relays end when the process that started them is gone: its parent
 * changed (PR_SET_PDEATHSIG is not enough: Landlock's signal scope keeps a confined parent's
 * death signal from reaching them). Checked once a second.
 */
static pid_t watched_parent;
static void exit_if_orphaned(void) {
  if (getppid() != watched_parent) _exit(0);
}

/* The forwarder keeps nothing of PROGRAM's: stdio on /dev/null, every other descriptor closed. */
static void detach_descriptors(int keep) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) {
    if (null >= 0) dup2(null, fd);
  }
  for (int fd = 3; fd < 65536; fd++) {
    if (fd == keep) continue;
#ifdef __NR_close_range
    if (syscall(__NR_close_range, (unsigned)fd, fd < keep ? (unsigned)keep - 1 : ~0U, 0) == 0) {
      if (fd > keep) break;
      fd = keep;
      continue;
    }
#endif
    close(fd);
  }
}

/* Relay bytes both ways between a and b until both directions are closed. */
static void relay(int a, int b) {
  struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
  int open_dirs = 2;
  char buf[65536];
  while (open_dirs > 0) {
    int ready = poll(p, 2, 1000);
    exit_if_orphaned();
    if (ready == 0) continue;
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int k = 0; k < 2; k++) {
      if (p[k].fd < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p[k].fd, buf, sizeof buf);
      int to = k == 0 ? b : a;
      if (n <= 0) {
        shutdown(to, SHUT_WR);
        p[k].fd = -1;
        open_dirs--;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0) return;
        off += w;
      }
    }
  }
}

/* --egress PORT:SOCKET: listen on 127.0.0.1:PORT in the namespace, fork the forwarder. */
static int start_forwarder(const char *spec) {
  const char *colon = strchr(spec, ':');
  uint64_t port;
  char portbuf[8];
  if (!colon || colon - spec >= (long)sizeof portbuf || colon[1] != '/') {
    fprintf(stderr, "warden-sandbox: --egress wants PORT:/path/to/socket\n");
    return -1;
  }
  memcpy(portbuf, spec, (size_t)(colon - spec));
  portbuf[colon - spec] = '\0';
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  if (parse_port(portbuf, &port) != 0 || port == 0 || strlen(colon + 1) >= sizeof un.sun_path) {
    fprintf(stderr, "warden-sandbox: bad --egress %s\n", spec);
    return -1;
  }
  strcpy(un.sun_path, colon + 1);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (l < 0 || bind(l, (struct sockaddr *)&in, sizeof in) != 0 || listen(l, 64) != 0) {
    fprintf(stderr, "warden-sandbox: cannot listen on 127.0.0.1:%s: %s\n", portbuf, strerror(errno));
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid > 0) {
    close(l);
    return 0;
  }
  /* The forwarder: ends with PROGRAM; one child per connection (reaped by the kernel). */
  watched_parent = parent;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(1);
  exit_if_orphaned();
  detach_descriptors(l);
  signal(SIGCHLD, SIG_IGN);
  struct pollfd lp = {.fd = l, .events = POLLIN};
  for (;;) {
    int ready = poll(&lp, 1, 1000);
    exit_if_orphaned();
    if (ready <= 0) continue;
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE) continue;
      _exit(1);
    }
    pid_t fwd = fork();
    if (fwd == 0) {
      watched_parent = getppid();
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(1);
      exit_if_orphaned();
      close(l);
      int one = 1; /* small writes go out at once (no Nagle wait on a delayed ACK) */
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (u >= 0 && connect(u, (struct sockaddr *)&un, sizeof un) == 0) relay(c, u);
      _exit(0);
    }
    close(c);
  }
}

/*
 * --no-exec: PROGRAM opened (close-on-exec) at the descriptor number RLIMIT_NOFILE's hard limit
 * minus one, then RLIMIT_NOFILE lowered to that number, so no descriptor PROGRAM opens or dups
 * can ever have it. -1 (said on stderr) when that cannot be done.
 */
static int exec_descriptor(const char *program) {
  struct rlimit rl;
  int fd = open(program, O_PATH | O_CLOEXEC);
  if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    fprintf(stderr, "warden-sandbox: cannot open %s: %s\n", program, strerror(errno));
    return -1;
  }
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536) rl.rlim_max = 65536;
  if (rl.rlim_max < 64) {
    fputs("warden-sandbox: RLIMIT_NOFILE too low for --no-exec\n", stderr);
    return -1;
  }
  rlim_t n = rl.rlim_max - 1;
  struct rlimit wide = {rl.rlim_max, rl.rlim_max};
  int high = setrlimit(RLIMIT_NOFILE, &wide) == 0 ? fcntl(fd, F_DUPFD_CLOEXEC, (int)n) : -1;
  close(fd);
  struct rlimit low = {rl.rlim_cur < n ? rl.rlim_cur : n, n};
  if (high != (int)n || setrlimit(RLIMIT_NOFILE, &low) != 0) {
    fprintf(stderr, "warden-sandbox: cannot place the exec descriptor: %s\n", strerror(errno));
    return -1;
  }
  return high;
}

/*
 * --unix-fd SOCKET: connect to the unix socket SOCKET before the filters (the host's service
 * for PROGRAM, which may have no socket of its own with --no-unix) and leave the connection
 * open to PROGRAM, its descriptor number in WARDEN_UNIX_FD.
 */
static int connect_unix_fd(const char *path) {
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof un.sun_path) {
    fprintf(stderr, "warden-sandbox: socket path too long: %s\n", path);
    return -1;
  }
  strcpy(un.sun_path, path);
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  if (u < 0 || connect(u, (struct sockaddr *)&un, sizeof un) != 0) {
    fprintf(stderr, "warden-sandbox: cannot connect to %s: %s\n", path, strerror(errno));
    return -1;
  }
  char n[16];
  snprintf(n, sizeof n, "%d", u);
  return setenv("WARDEN_UNIX_FD", n, 1);
}

static const char USAGE[] =
    "usage: warden-sandbox [--abi] [--pin-cwd] [--seccomp=minimal|kernel|full] [--tcp] [--no-inet] "
    "[--tcp-connect PORT]... [--tcp-bind PORT]... [--scope] [--netns] [--egress PORT:SOCKET] "
    "[--no-exec] [--no-unix] [--unix-fd SOCKET] "
    "[--ro PATH]... [--rw PATH]... "
    "-- PROGRAM [ARGS]...\n";

int main(int argc, char **argv) {
  int pin_cwd = 0, tcp = 0, scope = 0, no_inet = 0, netns = 0, no_exec = 0;
  const char *unix_fd = NULL;
  const char *egress = NULL;
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
    else if (strcmp(a, "--no-exec") == 0) no_exec = 1;
    else if (strcmp(a, "--no-unix") == 0) no_unix = 1;
    else if (strcmp(a, "--unix-fd") == 0 && i + 1 < argc) unix_fd = argv[++i];
    else if (strcmp(a, "--tcp") == 0) tcp = 1;
    else if (strcmp(a, "--scope") == 0) scope = 1;
    else if (strcmp(a, "--no-inet") == 0) no_inet = 1;
    else if (strcmp(a, "--netns") == 0) netns = 1;
    else if (strcmp(a, "--egress") == 0 && i + 1 < argc) egress = argv[++i];
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
  if (egress && !netns) {
    fputs("warden-sandbox: --egress needs --netns\n", stderr);
    return 2;
  }
  /* The namespace and the forwarder first: both need what Landlock and seccomp then refuse. */
  if (netns && enter_netns() != 0) {
    fprintf(stderr, "warden-sandbox: cannot make a network namespace: %s\n", strerror(errno));
    return 78;
  }
  if (egress && start_forwarder(egress) != 0) return 78;
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
    else if (strcmp(a, "--egress") == 0 || strcmp(a, "--unix-fd") == 0) i++;
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
  if (unix_fd && connect_unix_fd(unix_fd) != 0) return 1;
  int exec_fd = no_exec ? exec_descriptor(argv[prog_at]) : -1;
  if (no_exec && exec_fd < 0) return 1;
  if (install_syscall_filter(pin_cwd, prof, tcp, no_inet, exec_fd) != 0) return 1;
  if (no_exec) syscall(__NR_execveat, exec_fd, "", &argv[prog_at], environ, AT_EMPTY_PATH);
  else execv(argv[prog_at], &argv[prog_at]);
  fprintf(stderr, "warden-sandbox: cannot exec %s: %s\n", argv[prog_at], strerror(errno));
  return 127;
}
