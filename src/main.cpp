#include "commands.h"
#include "lti/allocator.h"

int main(int argc, char** argv) {
  lti::keep_freed_memory_for_reuse();
  return lti::run_cli(argc, argv);
}
