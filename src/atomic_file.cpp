#include "lti/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lti/errors.h"

namespace lti {

namespace {

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw WriteError("cannot create '" + tmp + "': " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) {
      const std::string why = std::strerror(errno);
      out.close();
      std::remove(tmp.c_str());
      throw WriteError("cannot write '" + path + "': " + why);
    }
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      throw WriteError("cannot write '" + path + "'");
    }
  }
  fsync_path(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw WriteError("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
}

void write_file_atomically(const std::string& path, const std::string& content) {
  write_file_atomically(path,
                        [&](std::ostream& out) { out.write(content.data(), content.size()); });
}

}  // namespace lti
