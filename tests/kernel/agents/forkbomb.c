/* A fork bomb: forks until the kernel refuses 20 times; the children wait to be killed. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int made = 0, refused = 0;
  for (int i = 0; i < 100000 && refused < 20; i++) {
    pid_t p = fork();
    if (p == 0) {
      for (;;) pause();
    }
    if (p < 0) refused++;
    else made++;
  }
  printf("{\"step\":\"fork bomb\",\"made\":%d,\"refused\":%d}\n", made, refused);
  return 0;
}
