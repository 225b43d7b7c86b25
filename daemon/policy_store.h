// The policy in force: compiled, swapped atomically, persisted.
//
// Apply compiles a new policy, checks the caller's expected generation
// (compare-and-set), writes it to the state dir atomically and durably
// (temp file, fsync, rename, fsync of the dir) and only then swaps it in: a
// policy that is not on disk is never in force, and an invalid one never
// replaces a valid one. Readers take the engine without a lock on their path.
#ifndef SCOPEDFS_DAEMON_POLICY_STORE_H_
#define SCOPEDFS_DAEMON_POLICY_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/state_dir.h"
#include "policy/engine.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs {

class PolicyStore {
 public:
  static constexpr const char* kPolicyFile = StateDir::kPolicyFile;

  struct LoadOptions {
    std::string seed_file;            // --policy: used when the state dir has none.
    bool fallback_to_default = false;  // A corrupt stored policy -> embedded default.
  };

  // Loads the stored policy, else the seed file, else the embedded default.
  // A stored policy that does not parse or compile is an error (the daemon
  // refuses to start) unless `fallback_to_default`. A seed file that cannot
  // be read: InvalidArgument "--policy: '/x' is a directory, expected a
  // policy file" (or "--policy: cannot read '/x': ..."); one that does not
  // parse or compile: "/x: " and every error.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Load(
      StateDir* state, const LoadOptions& options);

  // The policy Load would start with, read and compiled but neither adopted
  // nor persisted, from the state dir at `state_path` without taking it (a
  // running daemon may hold it): what --check-config validates.
  struct Initial {
    std::shared_ptr<const policy::Engine> engine;
    std::string origin;   // The file it came from, or the embedded default.
    bool stored = false;  // Read from the state dir (nothing to persist).
  };
  static absl::StatusOr<Initial> ReadInitial(const std::string& state_path,
                                             const LoadOptions& options);

  std::shared_ptr<const policy::Engine> engine() const {
    return std::atomic_load(&engine_);
  }
  uint64_t generation() const { return engine()->generation(); }

  // Applies `policy` if the running generation equals `expected_generation`
  // (0: unconditionally). INVALID_ARGUMENT lists the policy's errors with
  // field paths; FAILED_PRECONDITION means the generation moved on. Returns
  // the new generation. On any error the running policy stays.
  absl::StatusOr<uint64_t> Apply(const v1::Policy& policy,
                                 uint64_t expected_generation);

  // Runs after every successful Apply, on the applying thread (the daemon
  // uses it to drop kernel caches that the old policy filled).
  void OnChange(std::function<void()> callback);

 private:
  explicit PolicyStore(StateDir* state) : state_(state) {}
  absl::Status Persist(const v1::Policy& policy);

  StateDir* const state_;
  absl::Mutex apply_mu_;  // Serializes Apply; readers never take it.
  std::shared_ptr<const policy::Engine> engine_;  // atomic_load/atomic_store.
  std::vector<std::function<void()>> callbacks_ ABSL_GUARDED_BY(apply_mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_POLICY_STORE_H_
