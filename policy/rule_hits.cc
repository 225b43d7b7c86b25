#include "policy/rule_hits.h"

#include <cerrno>

namespace scopedfs::policy {

RuleHits::Outcome RuleHits::OutcomeOf(v1::Action action, int err) {
  if (err == ENOENT) return kHidden;
  if (err != 0) return kDenied;
  return action == v1::ALLOW_REDACTED ? kRedacted : kAllowed;
}

std::shared_ptr<RuleHits> RuleHits::For(const v1::Policy& policy,
                                        uint64_t generation,
                                        const RuleHits* previous,
                                        int64_t now_unix_nanos) {
  std::shared_ptr<RuleHits> hits(new RuleHits());
  hits->generation_ = generation;
  hits->default_action_value_ = policy.default_action();
  const auto fresh = [&] {
    auto c = std::make_shared<Counter>();
    c->since_unix_nanos = now_unix_nanos;
    return c;
  };
  hits->rules_.reserve(policy.rules_size());
  for (int i = 0; i < policy.rules_size(); ++i) {
    const v1::Rule& rule = policy.rules(i);
    std::string body = rule.SerializeAsString();
    std::shared_ptr<Counter> counter;
    if (previous != nullptr) {
      auto it = previous->by_id_.find(rule.id());
      if (it != previous->by_id_.end() && previous->bodies_[it->second] == body) {
        counter = previous->rules_[it->second];
      }
    }
    hits->by_id_.emplace(rule.id(), hits->rules_.size());
    hits->rules_.push_back(counter != nullptr ? std::move(counter) : fresh());
    hits->bodies_.push_back(std::move(body));
  }
  hits->default_ = previous != nullptr &&
                           previous->default_action_value_ == policy.default_action()
                       ? previous->default_
                       : fresh();
  return hits;
}

void RuleHits::CountById(absl::string_view rule_id, Outcome outcome,
                         int64_t now_unix_nanos) {
  auto it = by_id_.find(rule_id);
  if (it != by_id_.end()) Count(static_cast<int32_t>(it->second), outcome, now_unix_nanos);
}

}  // namespace scopedfs::policy
