#include "lti/util/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace lti {

namespace {

std::atomic<int> g_signal{0};

// Fixed slots, so that the handler reads them without allocating or locking: `state` is 0
// (free), 1 (being written) or 2 (holds a path the handler may unlink).
struct TemporarySlot {
  std::atomic<int> state{0};
  char path[1024];
};
TemporarySlot g_temporaries[64];

// What the process is doing inside a StopAtOnce scope, or null outside one.
std::atomic<const char*> g_at_once_activity{nullptr};

void write_to_stderr(const char* text) {
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text, std::strlen(text));
}

extern "C" void on_stop_signal(int signal) {
  int expected = 0;
  const bool first = g_signal.compare_exchange_strong(expected, signal);
  const char* activity = g_at_once_activity.load();
  if (first && activity == nullptr) return;  // stop at the next safe point
  // A second signal, or one in a wait that cannot poll the flag: remove what is half written
  // and leave now (only async-signal-safe calls: write, strlen, unlink, _exit).
  for (TemporarySlot& slot : g_temporaries)
    if (slot.state.load() == 2) ::unlink(slot.path);
  if (first) {
    write_to_stderr(signal == SIGINT ? "lti: SIGINT" : "lti: SIGTERM");
    write_to_stderr(": stopped at once while ");
    write_to_stderr(activity);
    write_to_stderr("\n");
  } else {
    write_to_stderr("lti: second signal, stopped at once\n");
  }
  ::_exit(128 + signal);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and writes carry on; the flag is polled
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_signal() { return g_signal.load(); }

int stop_exit_code(int signal) { return 128 + signal; }

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

void throw_if_stop_requested(const std::string& where) {
  if (const int signal = stop_signal(); signal != 0)
    throw StopRequested(signal, signal_name(signal) + ": " + where);
}

StopAtOnce::StopAtOnce(const char* activity) {
  g_at_once_activity.store(activity);
  // A signal that came just before would otherwise wait out the whole wait.
  if (stop_signal() != 0) {
    g_at_once_activity.store(nullptr);
    throw_if_stop_requested(std::string("stopped before ") + activity);
  }
}

StopAtOnce::~StopAtOnce() { g_at_once_activity.store(nullptr); }

void clear_stop_signal() { g_signal.store(0); }

void register_temporary(const std::string& path) {
  if (path.size() >= sizeof g_temporaries[0].path) return;
  for (TemporarySlot& slot : g_temporaries) {
    int expected = 0;
    if (!slot.state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.state.store(2);
    return;
  }
}

void unregister_temporary(const std::string& path) {
  for (TemporarySlot& slot : g_temporaries) {
    if (slot.state.load() != 2 || path != slot.path) continue;
    int expected = 2;
    if (slot.state.compare_exchange_strong(expected, 1)) slot.state.store(0);
    return;
  }
}

}  // namespace lti
