/* The example app: greets, echoes its arguments, and exits with the status named by
 * HELLO_EXIT (default 0) so the exit-status contract can be seen end to end. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  printf("Hello from an arrow!\n");
  for (int i = 1; i < argc; ++i) printf("arg[%d]=%s\n", i, argv[i]);
  const char* code = getenv("HELLO_EXIT");
  return code ? atoi(code) : 0;
}
