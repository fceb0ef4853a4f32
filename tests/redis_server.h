// A real redis-server for tests, on a free loopback port, started and stopped by the test.
#pragma once

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
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
  // Starts on a free loopback port. A free port can be taken between the probe and redis's
  // bind: then another port is tried. An argument kFreePort in `extra_args` (a cluster bus
  // port, say) is replaced by another free loopback port at every attempt; a restart keeps
  // the ports of the attempt that started.
  static constexpr const char* kFreePort = "{free port}";
  explicit RedisServer(const std::vector<std::string>& extra_args = {})
      : port_(free_loopback_port()) {
    char dir[] = "/tmp/lti-redis-XXXXXX";
    dir_ = ::mkdtemp(dir);
    for (int attempt = 0;; ++attempt) {
      extra_ = extra_args;
      for (std::string& arg : extra_)
        if (arg == kFreePort) arg = std::to_string(free_loopback_port());
      if (try_start()) return;
      if (attempt == 9) throw std::runtime_error("redis-server did not start: " + log());
      port_ = free_loopback_port();
    }
  }
  ~RedisServer() {
    stop();
    std::string out;
    std::system(("rm -rf " + dir_).c_str());
  }

  int port() const { return port_; }

  // (Re)starts on the same port (a restart keeps the port clients know).
  void start() {
    if (!try_start()) throw std::runtime_error("redis-server did not restart: " + log());
  }

  std::string log() const {
    std::ifstream in(dir_ + "/redis.log");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  // True when the server started is the one answering on port_ (its process_id in INFO);
  // false when it exited (a bind failure) or another process answers there.
  bool try_start() {
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
    for (int i = 0; i < 200; ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
          throw std::runtime_error("cannot run redis-server (is it installed?)");
        return false;  // most likely the port was taken
      }
      const long answering = answering_pid();
      if (answering == pid_) return true;
      if (answering > 0) {  // another server holds the port
        stop();
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    stop();
    return false;
  }

  // The process_id that the server on port_ reports (a password-protected server is ours when
  // it asks for one: the tests start theirs with the password), 0 when none answers.
  long answering_pid() const {
    redisContext* c = redisConnect("127.0.0.1", port_);
    long pid = 0;
    if (c && !c->err) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "INFO server"));
      if (r && r->type == REDIS_REPLY_STRING) {
        const std::string info(r->str, r->len);
        const size_t at = info.find("process_id:");
        if (at != std::string::npos) pid = std::stol(info.substr(at + 11));
      } else if (r && r->type == REDIS_REPLY_ERROR) {
        pid = pid_;  // NOAUTH: a server started with --requirepass by this object
      }
      if (r) freeReplyObject(r);
    }
    if (c) redisFree(c);
    return pid;
  }

 public:
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
  std::vector<std::string> extra_;  // as started: kFreePort replaced
  std::string dir_;
  pid_t pid_ = -1;
};

// A TCP proxy in front of a server that cuts the first connection after passing exactly
// `cut_after` bytes of replies (possibly mid-reply), as a server that dies or restarts at that
// moment would; later connections are passed through. The fault is deterministic: it does not
// depend on how fast the client or the machine is.
class CuttingProxy {
 public:
  CuttingProxy(int target_port, size_t cut_after) : target_(target_port), cut_after_(cut_after) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 16) != 0)
      throw std::runtime_error("proxy: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    thread_.join();
    for (auto& [client, server] : pairs_) {
      ::close(client);
      ::close(server);
    }
    ::close(listener_);
  }
  int port() const { return port_; }
  int cuts() const { return cuts_; }

 private:
  static bool send_all(int fd, const char* data, size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  void run() {
    char buf[65536];
    while (!stop_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (auto& [client, server] : pairs_) {
        fds.push_back({client, POLLIN, 0});
        fds.push_back({server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int client = ::accept(listener_, nullptr, nullptr);
        const int server = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(target_));
        if (client >= 0 && ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
          pairs_.push_back({client, server});
        else {
          if (client >= 0) ::close(client);
          ::close(server);
        }
        continue;  // the pair list changed: poll again
      }
      for (size_t p = 0; p < pairs_.size(); ++p) {
        const auto [client, server] = pairs_[p];
        bool closed = false;
        if (fds[1 + 2 * p].revents & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t n = ::recv(client, buf, sizeof buf, 0);
          closed = n <= 0 || !send_all(server, buf, static_cast<size_t>(n));
        }
        if (!closed && fds[2 + 2 * p].revents & (POLLIN | POLLHUP | POLLERR)) {
          ssize_t n = ::recv(server, buf, sizeof buf, 0);
          const bool cut_now =
              cuts_ == 0 && n > 0 && passed_ + static_cast<size_t>(n) >= cut_after_;
          if (cut_now) n = static_cast<ssize_t>(cut_after_ - passed_);
          if (n > 0) passed_ += static_cast<size_t>(n);
          closed = n < 0 || (n == 0 && !cut_now) || !send_all(client, buf, static_cast<size_t>(n));
          if (cut_now) {
            ++cuts_;
            closed = true;
          }
        }
        if (closed) {
          ::close(client);
          ::close(server);
          pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(p));
          break;  // indices shifted: poll again
        }
      }
    }
  }

  int target_;
  size_t cut_after_;
  int listener_ = -1;
  int port_ = 0;
  std::vector<std::pair<int, int>> pairs_;
  size_t passed_ = 0;
  std::atomic<int> cuts_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lti::test
