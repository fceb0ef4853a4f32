#include "lti/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lti/util/errors.h"
#include "lti/util/interrupt.h"

namespace lti {

namespace {

void remove_temporary(const std::string& tmp) {
  std::remove(tmp.c_str());
  unregister_temporary(tmp);
}

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Writes "<path>.tmp.<pid>" and flushes it to disk; returns its name.
std::string write_temporary(const std::string& path,
                            const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  register_temporary(tmp);  // a second SIGINT/SIGTERM removes it before exiting
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      const std::string why = std::strerror(errno);
      unregister_temporary(tmp);
      throw WriteError("cannot create '" + tmp + "': " + why);
    }
    write(out);
    out.flush();
    if (!out) {
      const std::string why = std::strerror(errno);
      out.close();
      remove_temporary(tmp);
      throw WriteError("cannot write '" + path + "': " + why);
    }
    out.close();
    if (!out) {
      remove_temporary(tmp);
      throw WriteError("cannot write '" + path + "'");
    }
  }
  fsync_path(tmp);
  return tmp;
}

void rename_over(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    remove_temporary(tmp);
    throw WriteError("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  unregister_temporary(tmp);
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  rename_over(write_temporary(path, write), path);
}

void write_file_atomically(const std::string& path, const std::string& content) {
  write_file_atomically(path,
                        [&](std::ostream& out) { out.write(content.data(), content.size()); });
}

StagedFiles::~StagedFiles() {
  for (const Staged& f : staged_) remove_temporary(f.temporary);
}

void StagedFiles::add(const std::string& path, const std::string& content) {
  staged_.push_back({write_temporary(path,
                                     [&](std::ostream& out) {
                                       out.write(content.data(),
                                                 static_cast<std::streamsize>(content.size()));
                                     }),
                     path});
}

void StagedFiles::commit() {
  for (size_t i = 0; i < staged_.size(); ++i) {
    try {
      rename_over(staged_[i].temporary, staged_[i].target);
    } catch (...) {
      staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      throw;
    }
  }
  staged_.clear();
}

bool create_folders(const std::string& folder) {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(folder, ec);
  if (ec || !std::filesystem::is_directory(folder))
    throw WriteError("cannot create the folder '" + folder + "': " +
                     (ec ? ec.message() : std::string("a file of that name is in the way")));
  return created;
}

size_t remove_stale_temporaries(const std::string& folder) {
  std::error_code ec;
  size_t removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    const size_t mark = name.rfind(".tmp.");
    if (mark == std::string::npos || mark + 5 == name.size() ||
        name.find_first_not_of("0123456789", mark + 5) != std::string::npos)
      continue;
    std::error_code remove_error;
    if (entry.is_regular_file(remove_error) && std::filesystem::remove(entry.path(), remove_error))
      ++removed;
  }
  return removed;
}

}  // namespace lti
