// How often each rule of the enforced policy decided, by outcome, and when
// it last did: which rules are dead, which are hot. Counting is a couple of
// relaxed atomic operations per decision.
//
// A rule's counter belongs to the rule's id and body, not to a generation:
// For() hands a new policy the very counter objects of the previous one for
// every rule whose id and body did not change, so a policy apply (or a grant
// change, which recompiles the policy) keeps their counts, and a decision of
// the old engine that finishes after the swap still counts where it should.
#ifndef SCOPEDFS_POLICY_RULE_HITS_H_
#define SCOPEDFS_POLICY_RULE_HITS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

class RuleHits {
 public:
  // What the caller got.
  enum Outcome { kAllowed, kRedacted, kDenied, kHidden };
  static constexpr int kOutcomes = 4;
  // The outcome of a verdict `action` answered with errno `err`.
  static Outcome OutcomeOf(v1::Action action, int err);

  struct Counter {
    std::array<std::atomic<uint64_t>, kOutcomes> hits{};
    std::atomic<int64_t> last_hit_unix_nanos{0};
    int64_t since_unix_nanos = 0;  // when this id and body were applied
  };

  // Counters for `policy` (compiled as `generation`): its rules' and its
  // default action's, shared with `previous` where the id and body (or the
  // default action) are the same.
  static std::shared_ptr<RuleHits> For(const v1::Policy& policy,
                                       uint64_t generation,
                                       const RuleHits* previous,
                                       int64_t now_unix_nanos);

  uint64_t generation() const { return generation_; }

  // Counts a decision by rule `rule_index` of this generation's policy (-1:
  // the default action; bypasses and malformed paths are not counted).
  void Count(int32_t rule_index, Outcome outcome, int64_t now_unix_nanos) {
    Counter* c = rule_index < 0 ? default_.get()
                 : static_cast<size_t>(rule_index) < rules_.size()
                     ? rules_[rule_index].get()
                     : nullptr;
    if (c == nullptr) return;
    c->hits[outcome].fetch_add(1, std::memory_order_relaxed);
    c->last_hit_unix_nanos.store(now_unix_nanos, std::memory_order_relaxed);
  }
  // The same by rule id, for a decision made by another generation's engine
  // (a race with a policy swap): counted only if this policy has the id.
  void CountById(absl::string_view rule_id, Outcome outcome,
                 int64_t now_unix_nanos);

  // The counters, in rule order (nullptr never).
  const std::vector<std::shared_ptr<Counter>>& rules() const { return rules_; }
  const Counter& default_action() const { return *default_; }

 private:
  RuleHits() = default;
  uint64_t generation_ = 0;
  std::vector<std::shared_ptr<Counter>> rules_;
  std::shared_ptr<Counter> default_;
  v1::Action default_action_value_ = v1::DENY;
  std::vector<std::string> bodies_;  // serialized rules, for the next For()
  absl::flat_hash_map<std::string, size_t> by_id_;
};

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_RULE_HITS_H_
