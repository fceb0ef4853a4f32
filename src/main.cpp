#include <malloc.h>

#include "commands.h"

int main(int argc, char** argv) {
  // LibTorch allocates and frees many tensors of a few MiB per step. glibc serves those with
  // mmap/munmap by default, so every step pays page faults again (it showed as system time
  // equal to user time); keeping them on the heap makes the memory reusable.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  return lti::run_cli(argc, argv);
}
