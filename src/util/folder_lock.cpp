#include "lti/util/folder_lock.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "lti/util/atomic_file.h"
#include "lti/util/errors.h"

namespace lti {

namespace {

constexpr char kRunLock[] = ".lock";
constexpr char kFilesLock[] = ".files.lock";

// flock with EINTR retried (a stop signal must not turn a wait into a failure).
int flock_retrying(int fd, int operation) {
  int rc;
  do rc = ::flock(fd, operation);
  while (rc != 0 && errno == EINTR);
  return rc;
}

bool no_locks_here(int error) { return error == ENOLCK || error == EOPNOTSUPP || error == ENOSYS; }

std::string read_holder(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid(text, n > 0 ? static_cast<size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

FolderLock FolderLock::for_training(const std::string& folder) {
  const bool created = create_folders(folder);
  const std::string path = folder + "/" + kRunLock;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw WriteError("cannot write in the model folder '" + folder + "' (creating " + path +
                     "): " + std::strerror(errno));
  if (flock_retrying(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (no_locks_here(error)) {
      spdlog::warn(
          "cannot lock '{}' ({}; some network file systems have no locks): nothing "
          "stops a second run from writing into this folder at the same time",
          path, std::strerror(error));
      return FolderLock(fd);
    }
    const std::string holder = read_holder(fd);
    ::close(fd);
    if (error == EWOULDBLOCK)
      throw Error(kExitBusy, "'" + folder + "' is in use by another lti train (PID " + holder +
                                 "); wait for it to end, or choose another --save_dir");
    throw WriteError("cannot lock '" + path + "': " + std::strerror(error));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw WriteError("cannot write '" + path + "': " + why);
  }
  FolderLock lock(fd);
  if (created) lock.created_folder_ = folder;
  return lock;
}

FolderLock FolderLock::for_saving(const std::string& folder) {
  const std::string path = folder + "/" + kFilesLock;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw WriteError("cannot create '" + path + "': " + std::strerror(errno));
  if (flock_retrying(fd, LOCK_EX) != 0 && !no_locks_here(errno)) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    throw WriteError("cannot lock '" + path + "': " + why);
  }
  return FolderLock(fd);
}

FolderLock FolderLock::for_reading(const std::string& folder) {
  const std::string path = folder + "/" + kFilesLock;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // flock needs no write access
  if (fd < 0) return FolderLock(-1);
  if (flock_retrying(fd, LOCK_SH) != 0) {
    ::close(fd);
    return FolderLock(-1);
  }
  return FolderLock(fd);
}

FolderLock::FolderLock(FolderLock&& other) noexcept
    : fd_(other.fd_), created_folder_(std::move(other.created_folder_)) {
  other.fd_ = -1;
  other.created_folder_.clear();
}

FolderLock::~FolderLock() {
  if (!created_folder_.empty()) {
    // Nothing but the lock files: the run wrote nothing, so the folder it made goes again.
    std::error_code ec;
    bool only_locks = true;
    for (const auto& entry : std::filesystem::directory_iterator(created_folder_, ec)) {
      const std::string name = entry.path().filename().string();
      only_locks = only_locks && (name == kRunLock || name == kFilesLock);
    }
    if (!ec && only_locks) {
      std::filesystem::remove(created_folder_ + "/" + kFilesLock, ec);
      std::filesystem::remove(created_folder_ + "/" + kRunLock, ec);
      std::filesystem::remove(created_folder_, ec);
    }
  }
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace lti
