// Locks on a model folder (--save_dir), with flock(2) on files inside it.
//  - The run lock (".lock"): `lti train` holds it exclusively for its whole run and writes its
//    PID into it, so a second training into the same folder is refused at once, by name.
//  - The files lock (".files.lock"): the trainer holds it exclusively while it renames an
//    epoch's files into place; eval and export hold it shared while they load, so a reader
//    always gets one epoch's files as one set, even while training rewrites the folder.
// flock locks belong to the open file: the kernel drops them when the process dies, however it
// dies, so a crashed run never leaves the folder locked.
#pragma once

#include <string>

namespace lti {

class FolderLock {
 public:
  // The run lock of `folder`, created (with the folder) if needed. Throws WriteError naming the
  // folder when it cannot be created or written (a file in the way, no permission, a read-only
  // file system), and Error(kExitBusy) naming the holder's PID when another run holds it.
  // Where the file system has no locks (some network file systems) it warns and goes on.
  // A folder this lock created is removed again on release if the run wrote nothing into it
  // (a run that fails on bad data leaves no empty model folder behind).
  static FolderLock for_training(const std::string& folder);
  // The files lock, exclusive: while an epoch's files replace the previous ones.
  static FolderLock for_saving(const std::string& folder);
  // The files lock, shared: while a reader loads the folder. Never fails: a folder where the
  // lock file cannot be created (read-only) has no writer either, and is read unlocked.
  static FolderLock for_reading(const std::string& folder);

  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&&) = delete;
  FolderLock(const FolderLock&) = delete;
  ~FolderLock();  // releases the lock

  bool locked() const { return fd_ >= 0; }

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::string created_folder_;  // set when for_training created the folder
};

}  // namespace lti
