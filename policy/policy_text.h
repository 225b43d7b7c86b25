// Protobuf text format as scopedfs reads it: policies (scopedfsd, scopedctl)
// and the daemon's config file share this one parser, so a file gets the
// same error list wherever it is read.
#ifndef SCOPEDFS_POLICY_POLICY_TEXT_H_
#define SCOPEDFS_POLICY_POLICY_TEXT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

// Parses `text` into `message` (cleared first). Returns every error the
// parser reports (syntax errors, unknown fields, unknown enum values), each
// as "line L:C: message" with 1-based line and column ("message" alone when
// the parser gives no position), in the order found. Empty: parsed.
std::vector<std::string> ParseTextFormat(absl::string_view text,
                                         google::protobuf::Message* message);

// The errors of ParseTextFormat as one status: OK if there are none, else
// InvalidArgument("line L:C: message; line L:C: message").
absl::Status TextFormatStatus(const std::vector<std::string>& errors);

// Parses a v1.Policy in text format: TextFormatStatus of ParseTextFormat.
// Does not validate (see ValidatePolicy).
absl::StatusOr<v1::Policy> ParsePolicyText(absl::string_view text);

// The policy in text format (ParsePolicyText reads it back).
std::string PolicyToText(const v1::Policy& policy);
// Any message in text format (ParseTextFormat reads it back).
std::string MessageToText(const google::protobuf::Message& message);

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_POLICY_TEXT_H_
