// Error types and the process exit codes scripts can rely on.
#pragma once

#include <stdexcept>
#include <string>

namespace lti {

// Exit codes of the `lti` executable (documented in the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,   // unexpected internal error
  kExitUsage = 2,     // bad command line or configuration file
  kExitInput = 3,     // bad input data (missing path, no CSV, missing column, --strict row)
  kExitModel = 4,     // missing, truncated or mismatched model files
  kExitRedis = 5,     // Redis unreachable or a command failed
  kExitDiverged = 6,  // training loss became NaN or infinite
  kExitWrite = 7,     // could not write an output file
  kExitBusy = 8,      // the model folder is in use by another `lti train`
  // A run stopped by SIGINT or SIGTERM exits with 128 + the signal: 130 or 143.
};

// An error with a message meant for the user and the exit code to leave with.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

struct InputError : Error {
  explicit InputError(const std::string& m) : Error(kExitInput, m) {}
};
struct WriteError : Error {
  explicit WriteError(const std::string& m) : Error(kExitWrite, m) {}
};
struct ModelError : Error {
  explicit ModelError(const std::string& m) : Error(kExitModel, m) {}
};

}  // namespace lti
