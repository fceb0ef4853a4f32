// A real redis-server for tests, on a free loopback port, started and stopped by the test.
#pragma once

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lti::test {

inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra_args = {})
      : port_(free_loopback_port()), extra_(std::move(extra_args)) {
    char dir[] = "/tmp/lti-redis-XXXXXX";
    dir_ = ::mkdtemp(dir);
    start();
  }
  ~RedisServer() {
    stop();
    std::string out;
    std::system(("rm -rf " + dir_).c_str());
  }

  int port() const { return port_; }

  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<std::string> args = {"redis-server",
                                       "--port",
                                       std::to_string(port_),
                                       "--bind",
                                       "127.0.0.1",
                                       "--dir",
                                       dir_,
                                       "--appendonly",
                                       "no",
                                       "--protected-mode",
                                       "no",
                                       "--loglevel",
                                       "warning",
                                       "--logfile",
                                       dir_ + "/redis.log"};
      // No snapshots unless the test asks for them.
      if (std::find(extra_.begin(), extra_.end(), "--save") == extra_.end())
        args.insert(args.end(), {"--save", ""});
      args.insert(args.end(), extra_.begin(), extra_.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    // Ready when it accepts connections.
    for (int i = 0; i < 200; ++i) {
      redisContext* c = redisConnect("127.0.0.1", port_);
      const bool up = c && !c->err;
      if (c) redisFree(c);
      if (up) return;
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_)
        throw std::runtime_error("redis-server exited (is it installed?)");
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    throw std::runtime_error("redis-server did not start");
  }

  // graceful: SIGTERM, so a server configured with --save writes its snapshot, as a restart
  // does; otherwise SIGKILL, a crash.
  void stop(bool graceful = false) {
    if (pid_ <= 0) return;
    ::kill(pid_, graceful ? SIGTERM : SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  int port_;
  std::vector<std::string> extra_;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace lti::test
