#include "daemon/shadow_policy.h"

#include <algorithm>
#include <vector>

#include "daemon/log.h"
#include "policy/grants.h"
#include "policy/policy_text.h"

namespace scopedfs {

namespace {

absl::StatusOr<std::shared_ptr<const policy::Engine>> CompileWithGrants(
    const v1::Policy& source, const v1::GrantList& grants, int64_t now) {
  policy::EffectivePolicy effective = policy::WithGrants(source, grants, now);
  return policy::Engine::Compile(effective.policy(), /*generation=*/0,
                                 effective.grant_rules);
}

}  // namespace

absl::Status ShadowPolicy::Install(const v1::Policy& source,
                                   const v1::GrantList& grants,
                                   int64_t now_unix_nanos,
                                   int64_t expires_unix_nanos) {
  auto engine = CompileWithGrants(source, grants, now_unix_nanos);
  if (!engine.ok()) return engine.status();
  absl::MutexLock lock(&mu_);
  std::atomic_store(&engine_, *std::move(engine));
  source_ = source;
  text_ = policy::PolicyToText(source);
  since_ = now_unix_nanos;
  differing_ = 0;
  paths_dropped_ = 0;
  pairs_.clear();
  paths_.clear();
  compared_.store(0, std::memory_order_relaxed);
  expires_.store(expires_unix_nanos, std::memory_order_relaxed);
  active_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void ShadowPolicy::Regrant(const v1::GrantList& grants, int64_t now_unix_nanos) {
  absl::MutexLock lock(&mu_);
  if (!active_.load(std::memory_order_relaxed)) return;
  auto engine = CompileWithGrants(source_, grants, now_unix_nanos);
  if (!engine.ok()) {
    // Grants that do not fit it are left out (WithGrants), so this is no
    // expected failure; the shadow then goes on with the grants it had.
    SFS_LOG(kWarning, "the shadow policy keeps its old grants: %s",
            engine.status().message());
    return;
  }
  std::atomic_store(&engine_, *std::move(engine));
}

v1::ShadowReport ShadowPolicy::Clear(size_t top_paths) {
  absl::MutexLock lock(&mu_);
  v1::ShadowReport report = ReportLocked(top_paths);
  report.set_active(false);
  active_.store(false, std::memory_order_release);
  std::atomic_store(&engine_, std::shared_ptr<const policy::Engine>());
  expires_.store(0, std::memory_order_relaxed);
  return report;
}

bool ShadowPolicy::Differ(const policy::Verdict& enforced,
                          const policy::Verdict& shadow) {
  if (enforced.action != shadow.action) return true;
  if (enforced.action != v1::ALLOW_REDACTED) return false;
  // The same redacted view only under the same profile.
  const std::string none;
  const std::string& a = enforced.redaction_profile ? *enforced.redaction_profile : none;
  const std::string& b = shadow.redaction_profile ? *shadow.redaction_profile : none;
  return a != b;
}

void ShadowPolicy::Differed(const policy::Verdict& enforced,
                            const policy::Verdict& shadow,
                            const std::string& path) {
  const auto id = [](const policy::Verdict& v) {
    return v.rule_id != nullptr ? *v.rule_id : std::string();
  };
  absl::MutexLock lock(&mu_);
  if (!active_.load(std::memory_order_relaxed)) return;  // cleared meanwhile
  ++differing_;
  ++pairs_[PairKey(id(enforced), enforced.action, id(shadow), shadow.action)];
  if (auto it = paths_.find(path); it != paths_.end()) {
    ++it->second;
  } else if (paths_.size() < kMaxPaths) {
    paths_.emplace(path, 1);
  } else {
    ++paths_dropped_;
  }
}

v1::ShadowReport ShadowPolicy::Report(size_t top_paths) const {
  absl::MutexLock lock(&mu_);
  return ReportLocked(top_paths);
}

v1::ShadowReport ShadowPolicy::ReportLocked(size_t top_paths) const {
  v1::ShadowReport report;
  if (!active_.load(std::memory_order_relaxed)) return report;
  report.set_active(true);
  report.set_since_unix_nanos(since_);
  report.set_expires_unix_nanos(expires_.load(std::memory_order_relaxed));
  report.set_decisions(compared_.load(std::memory_order_relaxed));
  report.set_differing(differing_);
  report.set_paths_dropped(paths_dropped_);
  report.set_text(text_);
  std::vector<std::pair<PairKey, uint64_t>> pairs(pairs_.begin(), pairs_.end());
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  for (const auto& [key, count] : pairs) {
    v1::ShadowReport::RulePair* p = report.add_pairs();
    p->set_enforced_rule_id(std::get<0>(key));
    p->set_enforced(static_cast<v1::Action>(std::get<1>(key)));
    p->set_shadow_rule_id(std::get<2>(key));
    p->set_shadow(static_cast<v1::Action>(std::get<3>(key)));
    p->set_count(count);
  }
  std::vector<std::pair<std::string, uint64_t>> paths(paths_.begin(), paths_.end());
  const size_t n = std::min(paths.size(), top_paths);
  std::partial_sort(paths.begin(), paths.begin() + n, paths.end(),
                    [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second > b.second : a.first < b.first;
                    });
  for (size_t i = 0; i < n; ++i) {
    v1::ShadowReport::PathCount* p = report.add_top_paths();
    p->set_path(paths[i].first);
    p->set_count(paths[i].second);
  }
  return report;
}

}  // namespace scopedfs
