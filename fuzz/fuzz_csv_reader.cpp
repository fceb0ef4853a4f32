// libFuzzer entry point; see targets.h and scripts/fuzz.sh.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lti::fuzz::csv_reader(data, size);
}
