// Policy validation: every error, with the field path it is about.
#ifndef SCOPEDFS_POLICY_VALIDATE_H_
#define SCOPEDFS_POLICY_VALIDATE_H_

#include <string>
#include <vector>

#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

// One problem in a policy. `field` is a path into the Policy message, e.g.
// "rules[3].paths[0]", "apps[1].name", "default_action"; `message` says what
// is wrong, e.g. "unbalanced '['". (The admin API's v1::PolicyError has the
// same two fields.)
struct PolicyError {
  std::string field;
  std::string message;

  bool operator==(const PolicyError& o) const {
    return field == o.field && message == o.message;
  }
};

// All errors of `policy`, in field order (empty: valid). Checks:
//   default_action  set, known, not ALLOW_REDACTED (the default has no profile)
//   apps[i].name    non-empty, [A-Za-z0-9._-]+, unique
//   apps[i].uids/gids/android_app_ids[j]
//                   not 0 / not a system uid (uids), not claimed by an earlier
//                   app (identity must be unambiguous); android_app_ids only
//                   with android_uid_scheme and < 100000
//   apps[i].permissions[j]          non-empty, [A-Za-z0-9._:-]+
//   redaction_profiles[i].name      non-empty, [A-Za-z0-9._-]+, unique
//   rules[i].id                     non-empty, unique; not starting with
//                                   "grant:" (policy/grants.h) unless i <
//                                   grant_rules
//   rules[i].apps[j]                a configured app
//   rules[i].paths[j]               a valid pattern (see policy/pattern.h)
//   rules[i].classes/operations[j]  set and known
//   rules[i].owner                  known
//   rules[i].require_permissions/lacking_permissions[j]
//                                   non-empty, not both required and lacking
//   rules[i].action                 set and known
//   rules[i].redaction_profile      required by ALLOW_REDACTED, a configured
//                                   profile, and only for ALLOW_REDACTED
// `generation` is not checked (the daemon sets it).
std::vector<PolicyError> ValidatePolicy(const v1::Policy& policy, int grant_rules = 0);

// "field: message; field: message" (for Status messages).
std::string FormatPolicyErrors(const std::vector<PolicyError>& errors);

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_VALIDATE_H_
