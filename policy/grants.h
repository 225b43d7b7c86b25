// Grants compiled into rules: the policy the engine enforces is the admin's
// policy with one or two rules per live grant in front of its own rules.
//
// A grant (policy.proto, Grant) for app A (or uid U) on path P becomes:
//   "grant:ID"          apps [A] (or uids [U]), paths [P] for a file or
//                       [P/] for a directory (P and everything below),
//                       operations LOOKUP + the grant's, action ALLOW, or
//                       ALLOW_REDACTED (LOOKUP, READ) with its profile;
//   "grant:ID:parents"  the same caller, LOOKUP of each directory above P:
//                       the grantee can walk to P, and sees nothing else in
//                       those directories it could not see before.
// Paths become literal patterns (every metacharacter in a class), so a file
// named "*.jpg" grants that file only. Being rules, grants are decided,
// explained, counted and audited like any rule, and a grant change is a new
// generation: cached decisions and kernel entries of the old one go.
#ifndef SCOPEDFS_POLICY_GRANTS_H_
#define SCOPEDFS_POLICY_GRANTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

// The prefix of every rule id made from a grant. Policies may not use it.
inline constexpr absl::string_view kGrantRulePrefix = "grant:";
// The profile a redacted grant without one uses: the strict allowlist.
inline constexpr absl::string_view kGrantProfile = "grant-allowlist";

// A pattern that matches exactly `path` (relative, no leading '/').
std::string LiteralPattern(absl::string_view path);

// Whether `g` can be compiled against `policy`: a known app (or a uid), a
// well-formed relative path, operations a grant can give, a redacted grant
// only for READ and with a profile of the policy (or none). InvalidArgument
// says what is wrong.
absl::Status CheckGrant(const v1::Grant& g, const v1::Policy& policy);

struct EffectivePolicy {
  // The policy to compile: the one given when no grant is in force (not
  // copied: a policy of 100,000 rules is megabytes), else the merge.
  const v1::Policy& policy() const { return grant_rules > 0 ? merged : *given; }
  int grant_rules = 0;  // the leading rules made from grants
  // Grants that no longer fit the policy (CheckGrant), left out: "g3: ...".
  std::vector<std::string> skipped;

  const v1::Policy* given = nullptr;
  v1::Policy merged;
};

// `policy` with the rules of every grant in `grants` that has not expired
// at `now_unix_nanos` in front, in grant order (and kGrantProfile among the
// profiles when a redacted grant needs it). `policy` must outlive the
// result.
EffectivePolicy WithGrants(const v1::Policy& policy, const v1::GrantList& grants,
                           int64_t now_unix_nanos);
EffectivePolicy WithGrants(const v1::Policy&& policy, const v1::GrantList& grants,
                           int64_t now_unix_nanos) = delete;

// Whether a rule id is one WithGrants made.
inline bool IsGrantRule(absl::string_view rule_id) {
  return absl::StartsWith(rule_id, kGrantRulePrefix);
}

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_GRANTS_H_
