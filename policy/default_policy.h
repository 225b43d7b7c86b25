// The embedded default policy (policy/default_policy.textproto).
#ifndef SCOPEDFS_POLICY_DEFAULT_POLICY_H_
#define SCOPEDFS_POLICY_DEFAULT_POLICY_H_

#include "absl/strings/string_view.h"

namespace scopedfs::policy {

// The text of policy/default_policy.textproto, compiled in.
absl::string_view DefaultPolicyText();

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_DEFAULT_POLICY_H_
