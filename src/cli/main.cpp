#include <csignal>

#include "commands.h"
#include "lti/util/allocator.h"

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) should fail a write with EFBIG, which the writers report
  // with the file's name, rather than kill the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  lti::keep_freed_memory_for_reuse();
  return lti::run_cli(argc, argv);
}
