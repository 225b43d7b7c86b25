// Policies in protobuf text format.
#ifndef SCOPEDFS_POLICY_POLICY_TEXT_H_
#define SCOPEDFS_POLICY_POLICY_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

// Parses a v1.Policy in text format. Syntax errors, unknown fields and unknown
// enum values are errors: InvalidArgument("line L:C: message; ..."), lines and
// columns 1-based. Does not validate (see ValidatePolicy).
absl::StatusOr<v1::Policy> ParsePolicyText(absl::string_view text);

// The policy in text format (ParsePolicyText reads it back).
std::string PolicyToText(const v1::Policy& policy);

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_POLICY_TEXT_H_
