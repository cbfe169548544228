/*
 * warden-sandbox: confine a program's filesystem access with Landlock, then exec it.
 *
 *   warden-sandbox [--ro PATH]... [--rw PATH]... -- PROGRAM [ARGS]...
 *
 * --ro paths may be read (and executed); --rw paths may also be written, created and removed.
 * Everything else on the filesystem is out of reach for PROGRAM and all its descendants,
 * enforced by the kernel: a path the permission broker approved cannot be swapped for one
 * outside these trees between the check and the open. Exit 78 when Landlock is unavailable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
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

int main(int argc, char **argv) {
  int i = 1;
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
    fprintf(stderr, "usage: warden-sandbox [--ro PATH]... [--rw PATH]... -- PROGRAM [ARGS]...\n");
    return 2;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || sys_restrict_self(ruleset, 0) != 0) {
    fprintf(stderr, "warden-sandbox: cannot restrict: %s\n", strerror(errno));
    return 1;
  }
  close(ruleset);
  execv(argv[i], &argv[i]);
  fprintf(stderr, "warden-sandbox: cannot exec %s: %s\n", argv[i], strerror(errno));
  return 127;
}
