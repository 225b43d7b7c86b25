// A shadow policy: a candidate the daemon decides beside the enforced one
// on every decision made for a request, without enforcing it, to show an
// admin what it would change on real traffic before applying it.
//
// AccessMediator::Finish asks engine() (null when none is installed or it
// expired), decides the same request with it, and calls Compared(); where
// the verdicts differ it also calls Differed() and stores the decision in
// the audit trail with the shadow verdict. The cost without a shadow is one
// atomic load per decision; with one, a second decision (the engine's
// Decide: well under a microsecond) and, for decisions the daemon's cache
// answered, building the path.
#ifndef SCOPEDFS_DAEMON_SHADOW_POLICY_H_
#define SCOPEDFS_DAEMON_SHADOW_POLICY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "policy/engine.h"
#include "scopedfs/v1/admin.pb.h"

namespace scopedfs {

class ShadowPolicy {
 public:
  // Distinct paths a report counts; the rest are only totalled.
  static constexpr size_t kMaxPaths = 10000;

  // Installs `source` (valid: ValidatePolicy), decided with `grants` (as
  // an apply would be), from `now` until `expires` (0: until cleared),
  // replacing any installed one and its report.
  absl::Status Install(const v1::Policy& source, const v1::GrantList& grants,
                       int64_t now_unix_nanos, int64_t expires_unix_nanos);
  // After the grants changed: the installed shadow is decided with the new
  // ones (a grant is no difference between the two policies).
  void Regrant(const v1::GrantList& grants, int64_t now_unix_nanos);
  // Removes it; returns its final report.
  v1::ShadowReport Clear(size_t top_paths);

  // The installed engine, or null (none, or expired at `now`).
  std::shared_ptr<const policy::Engine> engine(int64_t now_unix_nanos) const {
    if (!active_.load(std::memory_order_acquire)) return nullptr;
    const int64_t expires = expires_.load(std::memory_order_relaxed);
    if (expires != 0 && now_unix_nanos >= expires) return nullptr;
    return std::atomic_load(&engine_);
  }
  // When the installed one expires (0: none, or never).
  int64_t expires() const { return expires_.load(std::memory_order_relaxed); }

  // Whether two verdicts differ in what the caller would get.
  static bool Differ(const policy::Verdict& enforced, const policy::Verdict& shadow);

  // Every decision decided by both.
  void Compared() { compared_.fetch_add(1, std::memory_order_relaxed); }
  // One where they differ, at `path` (as audit paths are escaped).
  void Differed(const policy::Verdict& enforced, const policy::Verdict& shadow,
                const std::string& path);

  v1::ShadowReport Report(size_t top_paths) const;

 private:
  using PairKey = std::tuple<std::string, int, std::string, int>;
  v1::ShadowReport ReportLocked(size_t top_paths) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::atomic<bool> active_{false};
  std::atomic<int64_t> expires_{0};
  std::shared_ptr<const policy::Engine> engine_;  // atomic_load/atomic_store
  std::atomic<uint64_t> compared_{0};

  mutable absl::Mutex mu_;
  v1::Policy source_ ABSL_GUARDED_BY(mu_);
  std::string text_ ABSL_GUARDED_BY(mu_);
  int64_t since_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t differing_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t paths_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<PairKey, uint64_t> pairs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> paths_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_SHADOW_POLICY_H_
