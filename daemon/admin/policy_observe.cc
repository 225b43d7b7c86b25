#include "daemon/admin/policy_observe.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/admin/requests.h"
#include "daemon/log.h"
#include "policy/grants.h"

namespace scopedfs::admin {
namespace {

void Fill(const policy::RuleHits::Counter& c, v1::RuleHits* out) {
  out->set_allowed(c.hits[policy::RuleHits::kAllowed].load(std::memory_order_relaxed));
  out->set_redacted(c.hits[policy::RuleHits::kRedacted].load(std::memory_order_relaxed));
  out->set_denied(c.hits[policy::RuleHits::kDenied].load(std::memory_order_relaxed));
  out->set_hidden(c.hits[policy::RuleHits::kHidden].load(std::memory_order_relaxed));
  out->set_last_hit_unix_nanos(c.last_hit_unix_nanos.load(std::memory_order_relaxed));
  out->set_since_unix_nanos(c.since_unix_nanos);
}

}  // namespace

v1::GetRuleHitsResponse RuleHitsOf(PolicyStore& store) {
  // The counters first: they are never older than the engine taken after.
  const auto hits = store.hits();
  const auto engine = store.engine();
  v1::GetRuleHitsResponse response;
  response.set_generation(hits->generation());
  const v1::Policy& policy = engine->policy();
  if (engine->generation() != hits->generation()) return response;  // a swap: retry
  for (int i = 0; i < policy.rules_size() &&
                  static_cast<size_t>(i) < hits->rules().size();
       ++i) {
    const v1::Rule& rule = policy.rules(i);
    v1::RuleHits* r = response.add_rules();
    r->set_rule_id(rule.id());
    r->set_rule_index(i);
    r->set_action(rule.action());
    r->set_grant(policy::IsGrantRule(rule.id()));
    Fill(*hits->rules()[i], r);
  }
  v1::RuleHits* d = response.mutable_default_action();
  d->set_rule_index(-1);
  d->set_action(policy.default_action());
  Fill(hits->default_action(), d);
  return response;
}

absl::StatusOr<v1::SetShadowPolicyResponse> SetShadow(
    PolicyStore& store, const v1::SetShadowPolicyRequest& request) {
  auto parsed = PolicyOf(request);
  if (!parsed.ok()) return parsed.status();
  if (absl::Status st = store.SetShadow(*parsed, request.duration_seconds(),
                                        absl::ToUnixNanos(absl::Now()));
      !st.ok()) {
    return st;
  }
  SFS_LOG(kInfo, "shadow policy installed (%d rules)%s", parsed->rules_size(),
          request.duration_seconds() == 0 ? "" : ", for a limited time");
  v1::SetShadowPolicyResponse response;
  *response.mutable_report() = store.shadow().Report(0);
  return response;
}

}  // namespace scopedfs::admin
