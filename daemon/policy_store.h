// What is enforced: the admin's policy and the grants, compiled together
// into one engine (policy/grants.h), swapped atomically, persisted; beside
// them the rule hit counters and the shadow policy.
//
// Apply compiles a new policy (with the grants), checks the caller's
// expected generation (compare-and-set), writes it to the state dir
// atomically and durably (temp file, fsync, rename, fsync of the dir) and
// only then swaps it in: a policy that is not on disk is never in force,
// and an invalid one never replaces a valid one. Grant changes take the
// same path: each is a new generation, so the generation counts every
// change of what is enforced. Readers take the engine without a lock on
// their path.
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
#include "daemon/shadow_policy.h"
#include "daemon/state_dir.h"
#include "policy/engine.h"
#include "policy/rule_hits.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs {

// The longest time a grant or a shadow policy may be given (ten years):
// longer is no limit, and would overflow the clock.
inline constexpr uint64_t kMaxDurationSeconds = uint64_t{3650} * 86400;
// `now` + `duration_seconds` (0: no end, 0); INVALID_ARGUMENT above the
// bound.
absl::StatusOr<int64_t> ExpiryAfter(int64_t now_unix_nanos, uint64_t duration_seconds);

class PolicyStore {
 public:
  static constexpr const char* kPolicyFile = StateDir::kPolicyFile;
  static constexpr const char* kGrantsFile = StateDir::kGrantsFile;

  struct LoadOptions {
    std::string seed_file;            // --policy: used when the state dir has none.
    bool fallback_to_default = false;  // A corrupt stored policy -> embedded default.
  };

  // Loads the stored policy, else the seed file, else the embedded default,
  // and the stored grants (those expired while the daemon was down are not
  // in force; ExpireGrants removes them). A stored policy that does not
  // parse or compile is an error (the daemon refuses to start) unless
  // `fallback_to_default`; so is a grants file that does not parse. A seed
  // file that cannot be read: InvalidArgument "--policy: '/x' is a
  // directory, expected a policy file" (or "--policy: cannot read '/x':
  // ..."); one that does not parse or compile: "/x: " and every error.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Load(
      StateDir* state, const LoadOptions& options);

  // The policy Load would start with, read and compiled but neither adopted
  // nor persisted, from the state dir at `state_path` without taking it (a
  // running daemon may hold it): what --check-config validates. Without
  // the grants.
  struct Initial {
    std::shared_ptr<const policy::Engine> engine;
    std::string origin;   // The file it came from, or the embedded default.
    bool stored = false;  // Read from the state dir (nothing to persist).
  };
  static absl::StatusOr<Initial> ReadInitial(const std::string& state_path,
                                             const LoadOptions& options);
  // The grants stored in the state dir at `state_path` (none if there is
  // no file); FAILED_PRECONDITION naming the file if it does not parse.
  static absl::StatusOr<v1::GrantList> ReadGrants(const std::string& state_path);

  // The engine in force: the policy with the grants' rules first.
  std::shared_ptr<const policy::Engine> engine() const {
    return std::atomic_load(&engine_);
  }
  uint64_t generation() const { return engine()->generation(); }
  // The admin's policy, without the grants, with the generation in force.
  v1::Policy policy() const;

  // The hit counters of the engine in force (hits()->generation() may be
  // newer than an engine a racing decision took).
  std::shared_ptr<policy::RuleHits> hits() const {
    return std::atomic_load(&hits_);
  }
  ShadowPolicy& shadow() { return shadow_; }
  // Installs `source` as the shadow policy (ShadowPolicy::Install, with the
  // grants in force and again after every grant change) for
  // `duration_seconds` (0: until cleared). INVALID_ARGUMENT lists its
  // errors, or says the duration is too long.
  absl::Status SetShadow(const v1::Policy& source, uint64_t duration_seconds,
                         int64_t now_unix_nanos);

  // Run before a new engine replaces the one in force, with both; an error
  // refuses the change (nothing is applied or stored).
  using Check = std::function<absl::Status(const policy::Engine& next)>;

  // Applies `policy` if the running generation equals `expected_generation`
  // (0: unconditionally). INVALID_ARGUMENT lists the policy's errors with
  // field paths; FAILED_PRECONDITION means the generation moved on, a
  // grant no longer fits the policy, or `check` refused. Returns the new
  // generation. On any error the running policy stays.
  absl::StatusOr<uint64_t> Apply(const v1::Policy& policy,
                                 uint64_t expected_generation,
                                 const Check& check = nullptr);

  // Grants. AddGrant assigns the id, the creation time and the expiry
  // (`duration_seconds` from `now`, 0: none) and answers the grant as
  // stored; RevokeGrant answers the grant removed (NOT_FOUND if none has
  // that id). Both return the new generation in `*generation`.
  absl::StatusOr<v1::Grant> AddGrant(v1::Grant grant, uint64_t duration_seconds,
                                     int64_t now_unix_nanos, uint64_t* generation);
  absl::StatusOr<v1::Grant> RevokeGrant(const std::string& id,
                                        uint64_t* generation,
                                        const Check& check = nullptr);
  v1::GrantList grants() const;
  // Removes the grants expired at `now` (a new generation if any) and
  // returns them. The earliest expiry still ahead, 0 if none:
  std::vector<v1::Grant> ExpireGrants(int64_t now_unix_nanos,
                                      const Check& check = nullptr);
  int64_t NextGrantExpiry() const;

  // Runs after every change of the engine in force, on the changing thread
  // (the daemon uses it to drop kernel caches that the old one filled).
  void OnChange(std::function<void()> callback);

 private:
  explicit PolicyStore(StateDir* state) : state_(state) {}
  // Compiles `policy` with `grants` as `generation`, runs `check`, stores
  // what changed (`grants_changed`, `persist_policy`) and swaps the engine
  // and its hit counters in. Grants that no longer fit the policy refuse
  // the change with `refuse_unfit_grants`, else they are left out. A store
  // that fails refuses the change, unless `persist_best_effort` (expiry:
  // taking access away must not wait for the disk).
  absl::StatusOr<uint64_t> Install(v1::Policy policy, v1::GrantList grants,
                                   bool grants_changed, const Check& check,
                                   bool refuse_unfit_grants, uint64_t generation,
                                   bool persist_policy, bool persist_best_effort = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  absl::Status Persist(const v1::Policy& policy);
  void RunCallbacks();

  StateDir* const state_;
  mutable absl::Mutex apply_mu_;  // Serializes changes; readers never take it.
  v1::Policy policy_ ABSL_GUARDED_BY(apply_mu_);  // the admin's, stamped
  v1::GrantList grants_ ABSL_GUARDED_BY(apply_mu_);
  std::shared_ptr<const policy::Engine> engine_;  // atomic_load/atomic_store.
  std::shared_ptr<policy::RuleHits> hits_;        // atomic_load/atomic_store.
  ShadowPolicy shadow_;
  std::vector<std::function<void()>> callbacks_ ABSL_GUARDED_BY(apply_mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_POLICY_STORE_H_
