/*
 * A native hostile program (issue 20 item 5): tries each escape with raw system calls and
 * prints one "STEP RESULT" line per attempt, RESULT "ok" when it got through, else the errno
 * name. Arguments: SECRET TCP_PORT UDP_PORT SIBLING_PID HOST_PID SECRET_DIR.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *step, int r) {
  printf("%s %s\n", step, r >= 0 ? "ok" : strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
  fflush(stdout);
}

static int read_file(const char *p) {
  int fd = open(p, O_RDONLY);
  if (fd < 0) return -1;
  char b[64];
  int n = (int)read(fd, b, sizeof b);
  close(fd);
  return n;
}

static int tcp(const char *ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  int r = connect(s, (struct sockaddr *)&a, sizeof a);
  if (r == 0) r = (int)write(s, "ESCAPED\n", 8);
  int e = errno;
  close(s);
  errno = e;
  return r;
}

static int udp(int port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int r = (int)sendto(s, "ESCAPED", 7, 0, (struct sockaddr *)&a, sizeof a);
  int e = errno;
  close(s);
  errno = e;
  return r;
}

/* fork + execve: a close-on-exec pipe tells whether the exec happened (EOF) or failed (errno). */
static int run(const char *path, char *const argv[]) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(fds[0]);
    execv(path, argv);
    int e = errno;
    if (write(fds[1], &e, sizeof e) < 0) _exit(126);
    _exit(127);
  }
  close(fds[1]);
  int e = 0;
  ssize_t n = read(fds[0], &e, sizeof e);
  close(fds[0]);
  waitpid(pid, NULL, 0);
  if (n == sizeof e) {
    errno = e;
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 7) return 2;
  const char *secret = argv[1], *dir = argv[6];
  int tport = atoi(argv[2]), uport = atoi(argv[3]);
  pid_t sibling = atoi(argv[4]), host = atoi(argv[5]);
  char p[4096];
  report("read-secret", read_file(secret));
  snprintf(p, sizeof p, "/proc/self/root%s", secret);
  report("read-proc-root", read_file(p));
  report("read-shadow", read_file("/etc/shadow"));
  snprintf(p, sizeof p, "%s/planted", dir);
  report("write-outside", open(p, O_WRONLY | O_CREAT, 0644));
  report("chmod-secret", chmod(secret, 0777));
  report("chown-secret", chown(secret, 65534, 65534));
  report("fchmodat-secret", fchmodat(AT_FDCWD, secret, 0777, 0));
  int opath = open(secret, O_PATH);
  report("fchmodat2-opath", (int)syscall(452 /* fchmodat2 */, opath, "", 0777, AT_EMPTY_PATH));
  report("fchownat-opath", fchownat(opath, "", 65534, 65534, AT_EMPTY_PATH));
  report("setxattr-secret", (int)syscall(SYS_setxattr, secret, "user.x", "1", 1, 0));
  report("link-secret", link(secret, "hard"));
  report("symlink-read", symlink(secret, "ln") == 0 ? read_file("ln") : -1);
  report("tcp-loopback", tcp("127.0.0.1", tport));
  report("tcp-public", tcp("1.1.1.1", 80));
  report("udp-loopback", udp(uport));
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  snprintf(un.sun_path, sizeof un.sun_path, "%s/host.sock", dir);
  int us = socket(AF_UNIX, SOCK_STREAM, 0);
  report("unix-connect", us < 0 ? -1 : connect(us, (struct sockaddr *)&un, sizeof un));
  report("kill-sibling", kill(sibling, SIGKILL));
  report("signal-host", kill(host, SIGCONT));
  report("ptrace-sibling", (int)ptrace(PTRACE_ATTACH, sibling, 0, 0));
  char buf[8];
  struct iovec l = {buf, sizeof buf}, r = {(void *)0x400000, sizeof buf};
  report("vm-read-sibling", (int)process_vm_readv(sibling, &l, 1, &r, 1, 0));
  char *sh[] = {"sh", "-c", "exit 0", NULL};
  report("exec-sh", run("/bin/sh", sh));
  char *tr[] = {"true", NULL};
  report("exec-true", run("/usr/bin/true", tr));
  char *ld[] = {"ld.so", "/usr/bin/true", NULL};
  report("exec-ld-so", run("/lib64/ld-linux-x86-64.so.2", ld));
  char *self[] = {"self", NULL};
  report("exec-self", run("/proc/self/exe", self));
  printf("done\n");
  return 0;
}
