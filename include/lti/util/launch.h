// The launcher's view of this process: which rank of how many (torchrun, SLURM, a Kubernetes
// PyTorchJob or scripts/launch-local.sh set the variables), and a user's shard for export.
#pragma once

#include <cstdint>
#include <string>

namespace lti {

// What torchrun, SLURM (through its wrappers) or a Kubernetes PyTorchJob set for each process:
// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, and TORCHELASTIC_USE_AGENT_STORE when
// the launcher already hosts the rendezvous store on MASTER_PORT.
struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;

  // Reads the variables; none set means one process. Throws Error(kExitUsage) when they are
  // inconsistent (RANK without WORLD_SIZE, RANK >= WORLD_SIZE, a port out of range...).
  static LaunchEnvironment from_environment();
  bool distributed() const { return world_size > 1; }
};

// This process's share of users for a sharded export: "i/N" (0 <= i < N), or the launcher's
// RANK/WORLD_SIZE when `spec` is empty. A user belongs to shard hash(raw id) mod N.
struct Shard {
  int index = 0, count = 1;
  static Shard parse(const std::string& spec);  // throws Error(kExitUsage)
  bool contains(uint64_t raw_user_id) const;
};

}  // namespace lti
