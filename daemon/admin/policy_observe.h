// What the admin API shows of the policy at work: the rule hit counters
// (GetRuleHits, and GetStats for Prometheus) and the shadow policy
// (SetShadowPolicy, ClearShadowPolicy, GetShadowReport).
#ifndef SCOPEDFS_DAEMON_ADMIN_POLICY_OBSERVE_H_
#define SCOPEDFS_DAEMON_ADMIN_POLICY_OBSERVE_H_

#include "absl/status/statusor.h"
#include "daemon/policy_store.h"
#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::admin {

// The counters of the engine in force, in rule order (grants first).
v1::GetRuleHitsResponse RuleHitsOf(PolicyStore& store);

// Compiles the request's policy (every error, as ApplyPolicy reports them)
// and installs it as the shadow from now on.
absl::StatusOr<v1::SetShadowPolicyResponse> SetShadow(
    PolicyStore& store, const v1::SetShadowPolicyRequest& request);

// GetShadowReport's top_paths default.
inline size_t TopPaths(uint32_t asked) { return asked == 0 ? 10 : asked; }

}  // namespace scopedfs::admin

#endif  // SCOPEDFS_DAEMON_ADMIN_POLICY_OBSERVE_H_
