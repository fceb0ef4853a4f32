// Graceful stop on SIGINT / SIGTERM (SPEC: operators' signals never lose data).
//
// The first signal only raises a flag: training finishes its step, export its batch in flight,
// and each stops at the next safe point, says where it stopped and exits with 128 + the signal
// (130 for SIGINT, 143 for SIGTERM). A second signal exits at once, after removing the
// temporary files registered below, so an impatient operator never leaves "*.tmp.PID" files;
// so does the first one inside a StopAtOnce scope.
#pragma once

#include <stdexcept>
#include <string>

namespace lti {

// Installs the handlers (idempotent). Until it is called, signals keep their default action.
void install_stop_handlers();

// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int stop_signal();

// 128 + the signal: the exit code of a run stopped by it.
int stop_exit_code(int signal);

// "SIGINT", "SIGTERM" or "signal N".
std::string signal_name(int signal);

// Thrown where a stop signal ends a command at a safe point; the message says where it stopped
// and how to go on. The command-line driver prints it and exits with exit_code().
class StopRequested : public std::runtime_error {
 public:
  StopRequested(int signal, const std::string& message)
      : std::runtime_error(message), signal_(signal) {}
  int exit_code() const { return stop_exit_code(signal_); }

 private:
  int signal_;
};

// Throws StopRequested(stop_signal(), signal_name + ": " + where) when a stop was asked for.
void throw_if_stop_requested(const std::string& where);

// While one is alive, a stop signal ends the process at once (128 + the signal, after a line on
// stderr) instead of raising the flag: for waits that write nothing and cannot poll the flag,
// such as the ranks' rendezvous, which would otherwise sit out its timeout (minutes) after an
// operator or a launcher asked it to stop. `activity` ("waiting for the other ranks") must
// outlive the scope; a string literal. Throws StopRequested if a stop was asked for already.
class StopAtOnce {
 public:
  explicit StopAtOnce(const char* activity);
  ~StopAtOnce();
  StopAtOnce(const StopAtOnce&) = delete;
  StopAtOnce& operator=(const StopAtOnce&) = delete;
};

// For tests: forget a received signal.
void clear_stop_signal();

// Temporary files that a second signal removes before the process exits. Paths longer than
// 1,023 bytes or beyond 64 at once are not registered (they are still removed on the normal
// paths, by their writers).
void register_temporary(const std::string& path);
void unregister_temporary(const std::string& path);

}  // namespace lti
