/*
 * The seccomp test's probe: tries each refused syscall with harmless arguments (invalid ones
 * where a valid call would change the host) and prints "NAME RESULT" per line, RESULT "ok" or
 * the errno's name. Unconfined, each call reaches the kernel (ok, or an argument error such as
 * EINVAL/EBADF/EFAULT/ENOENT); under the filter it fails with EPERM (ENOSYS for clone3 and
 * io_uring) before the kernel looks at it. Also checks that threads and forks still work.
 * With arguments it tries one network or scope case instead: "bind PORT", "connect-tcp PORT",
 * "connect-tcp6 PORT", "connect-mptcp PORT", "udp PORT" (loopback), "listen NAME" /
 * "connect NAME" (an abstract unix socket).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long r) {
  printf("%s %s\n", name, r >= 0 ? "ok" : strerrorname_np(errno));
}

/*
 * "bind PORT", "connect-tcp PORT", "connect-tcp6 PORT", "connect-mptcp PORT", "udp PORT": a
 * bind or connect on the loopback address (UDP: a connect of a datagram socket).
 */
static int tcp(const char *mode, const char *port) {
  uint16_t p = htons((uint16_t)atoi(port));
  int six = strcmp(mode, "connect-tcp6") == 0;
  int type = strcmp(mode, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
  int proto = strcmp(mode, "connect-mptcp") == 0 ? 262 /* IPPROTO_MPTCP */ : 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = p};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = p, .sin6_addr = in6addr_loopback};
  int fd = socket(six ? AF_INET6 : AF_INET, type, proto);
  if (fd < 0) {
    report(mode, -1);
    return 0;
  }
  if (six) {
    report(mode, connect(fd, (struct sockaddr *)&a6, sizeof(a6)));
    return 0;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  long r = strcmp(mode, "bind") == 0 ? bind(fd, (struct sockaddr *)&a, sizeof(a))
                                     : connect(fd, (struct sockaddr *)&a, sizeof(a));
  report(mode, r);
  return 0;
}

/* "listen NAME": serve an abstract unix socket; "connect NAME": try to connect to it. */
static int abstract_socket(const char *mode, const char *name) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  if (len + 1 > sizeof(a.sun_path)) return 2;
  memcpy(a.sun_path + 1, name, len);
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (strcmp(mode, "listen") == 0) {
    if (bind(fd, (struct sockaddr *)&a, alen) != 0 || listen(fd, 8) != 0) return 1;
    printf("listening\n");
    for (;;) {
      int c = accept(fd, NULL, NULL);
      if (c >= 0) close(c);
    }
  }
  report("connect-abstract", connect(fd, (struct sockaddr *)&a, alen));
  return 0;
}

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && (strcmp(argv[1], "listen") != 0 && strcmp(argv[1], "connect") != 0)) {
    return tcp(argv[1], argv[2]);
  }
  if (argc == 3) return abstract_socket(argv[1], argv[2]);
  /* what every program needs */
  pthread_t t;
  report("thread", pthread_create(&t, NULL, thread_main, NULL) == 0 ? pthread_join(t, NULL) : -1);
  pid_t p = fork();
  if (p == 0) _exit(0);
  report("fork", p > 0 ? waitpid(p, NULL, 0) : -1);
  report("personality-query", syscall(SYS_personality, 0xffffffffUL));
  /* other processes' memory */
  report("ptrace", syscall(SYS_ptrace, 2 /* PTRACE_PEEKDATA */, 0x7ffffff0, 0, 0));
  report("process_vm_readv", syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0));
  report("process_vm_writev", syscall(SYS_process_vm_writev, getpid(), NULL, 0, NULL, 0, 0));
  report("pidfd_getfd", syscall(SYS_pidfd_getfd, -1, 0, 0));
  report("process_madvise", syscall(SYS_process_madvise, -1, NULL, 0, 0, 0));
  report("kcmp", syscall(SYS_kcmp, getpid(), getpid(), 9999, 0, 0));
  /* file modes, owners and extended attributes by path (a file that does not exist) */
  report("chmod", syscall(SYS_chmod, "/nonexistent-k1", 0600));
  report("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, "/nonexistent-k1", 0600));
  report("fchmodat2", syscall(452 /* fchmodat2 */, AT_FDCWD, "/nonexistent-k1", 0600, 0));
  report("chown", syscall(SYS_chown, "/nonexistent-k1", 0, 0));
  report("lchown", syscall(SYS_lchown, "/nonexistent-k1", 0, 0));
  report("fchownat", syscall(SYS_fchownat, AT_FDCWD, "/nonexistent-k1", 0, 0, 0));
  report("setxattr", syscall(SYS_setxattr, "/nonexistent-k1", "user.k", "1", 1, 0));
  report("lsetxattr", syscall(SYS_lsetxattr, "/nonexistent-k1", "user.k", "1", 1, 0));
  report("removexattr", syscall(SYS_removexattr, "/nonexistent-k1", "user.k"));
  report("lremovexattr", syscall(SYS_lremovexattr, "/nonexistent-k1", "user.k"));
  /* mounts and namespaces */
  report("mount", syscall(SYS_mount, "none", "/nonexistent-k1", "nonexistent-fs", 0, NULL));
  report("umount2", syscall(SYS_umount2, "/nonexistent-k1", 0));
  report("pivot_root", syscall(SYS_pivot_root, "/nonexistent-k1", "/nonexistent-k1"));
  report("open_tree", syscall(SYS_open_tree, -1, "/nonexistent-k1", 0));
  report("move_mount", syscall(SYS_move_mount, -1, "", -1, "", 0));
  report("fsopen", syscall(SYS_fsopen, "nonexistent-fs", 0));
  report("fsconfig", syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0));
  report("fsmount", syscall(SYS_fsmount, -1, 0, 0));
  report("fspick", syscall(SYS_fspick, -1, "/nonexistent-k1", 0));
  report("mount_setattr", syscall(SYS_mount_setattr, -1, "", 0, NULL, 0));
  report("unshare", syscall(SYS_unshare, ~0L));
  report("setns", syscall(SYS_setns, -1, 0));
  report("clone3", syscall(SYS_clone3, NULL, 0));
  long c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (c == 0) _exit(0);
  if (c > 0) waitpid((pid_t)c, NULL, 0);
  report("clone-newuser", c);
  /* keyrings, bpf, perf, kexec, modules */
  report("keyctl", syscall(SYS_keyctl, 9999, 0, 0, 0, 0));
  report("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
  report("request_key", syscall(SYS_request_key, NULL, NULL, NULL, 0));
  report("bpf", syscall(SYS_bpf, 9999, NULL, 0));
  report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
  report("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xdead0000UL));
  report("init_module", syscall(SYS_init_module, NULL, 0, NULL));
  report("finit_module", syscall(SYS_finit_module, -1, "", 0));
  report("delete_module", syscall(SYS_delete_module, "nonexistent_k1", O_NONBLOCK));
  /* io_uring and userfaultfd */
  report("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
  report("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
  report("io_uring_register", syscall(SYS_io_uring_register, -1, 0, NULL, 0));
  report("userfaultfd", syscall(SYS_userfaultfd, ~0L));
  /* host settings */
  report("acct", syscall(SYS_acct, "/nonexistent-k1/acct"));
  report("swapon", syscall(SYS_swapon, "/nonexistent-k1", 0));
  report("swapoff", syscall(SYS_swapoff, "/nonexistent-k1"));
  report("reboot", syscall(SYS_reboot, 0, 0, 0, NULL)); /* bad magic: EINVAL unconfined */
  report("settimeofday", syscall(SYS_settimeofday, NULL, NULL)); /* sets nothing */
  struct timespec ts = {0, 0};
  report("clock_settime", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts)); /* EINVAL */
  report("clock_adjtime", syscall(SYS_clock_adjtime, CLOCK_REALTIME, NULL));
  report("adjtimex", syscall(SYS_adjtimex, NULL));
  report("sethostname", syscall(SYS_sethostname, "x", 100000)); /* too long: EINVAL */
  report("setdomainname", syscall(SYS_setdomainname, "x", 100000));
#ifdef SYS_iopl
  report("iopl", syscall(SYS_iopl, 4));
  report("ioperm", syscall(SYS_ioperm, 0xffffffffUL, 1, 0));
#endif
#ifdef SYS_lookup_dcookie
  report("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0));
#endif
  report("syslog", syscall(SYS_syslog, 9999, NULL, 0));
  report("quotactl", syscall(SYS_quotactl, 0xffff, NULL, 0, NULL));
  report("ioctl-tiocsti", syscall(SYS_ioctl, -1, 0x5412 /* TIOCSTI */, "x"));
  report("ioctl-tioclinux", syscall(SYS_ioctl, -1, 0x541C /* TIOCLINUX */, "x"));
  report("ioctl-fionread", syscall(SYS_ioctl, -1, 0x541B /* FIONREAD: passes */, NULL));
  report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0));
  report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
  /* a personality change, restored at once (unconfined) */
  long old = syscall(SYS_personality, 0xffffffffUL);
  long r = syscall(SYS_personality, 0x0008UL /* PER_LINUX32 */);
  if (r >= 0) syscall(SYS_personality, (unsigned long)old);
  report("personality", r);
  return 0;
}
