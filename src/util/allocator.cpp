#include "lti/util/allocator.h"

#include <malloc.h>

namespace lti {

void keep_freed_memory_for_reuse() {
  // No mmap'ed chunks: large blocks come from the heap (a thread arena that cannot hold one
  // retries in the main arena), and freed memory is never trimmed back to the kernel.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);  // -1: never trim (mallopt(3))
  mallopt(M_TOP_PAD, 64 << 20);
}

}  // namespace lti
