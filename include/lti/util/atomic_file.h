// Files that appear complete or not at all: write to a temporary file beside the target,
// flush it to disk, then rename over the target.
#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace lti {

// Calls `write` with a stream on "<path>.tmp.<pid>", then renames it to `path`.
// Throws WriteError (naming the file) on any failure and removes the temporary file.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

// Same for content already in memory.
void write_file_atomically(const std::string& path, const std::string& content);

// Creates `folder` and its parents as needed; returns whether it was created. Throws WriteError
// naming the folder when it cannot be (a file in the way, no permission, a read-only file system).
bool create_folders(const std::string& folder);

// Removes the "<name>.tmp.<pid>" files in `folder` (not its subfolders) that writers which died
// (kill -9, power loss) left behind; returns how many. Only for a folder that this process alone
// writes to (hold its FolderLock). A missing folder has none.
size_t remove_stale_temporaries(const std::string& folder);

// Files that replace their targets together, as far as a file system allows: each add() writes
// and flushes a temporary beside its target; commit() renames them all, in the order added.
// A failure while writing (a full disk) therefore leaves every target as it was, not a folder
// with some new and some old files. Temporaries not committed are removed on destruction.
class StagedFiles {
 public:
  StagedFiles() = default;
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;
  ~StagedFiles();

  void add(const std::string& path, const std::string& content);  // throws WriteError
  void commit();                                                  // throws WriteError

 private:
  struct Staged {
    std::string temporary, target;
  };
  std::vector<Staged> staged_;
};

}  // namespace lti
