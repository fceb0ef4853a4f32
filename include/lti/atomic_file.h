// Files that appear complete or not at all: write to a temporary file beside the target,
// flush it to disk, then rename over the target.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace lti {

// Calls `write` with a stream on "<path>.tmp.<pid>", then renames it to `path`.
// Throws WriteError (naming the file) on any failure and removes the temporary file.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

// Same for content already in memory.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace lti
