// Policy files as scopedctl reads them: protobuf text format of v1::Policy,
// parsed by policy::ParsePolicyText (policy/policy_text.h), the parser
// scopedfsd uses, so both list the same errors for a file.
#ifndef SCOPEDFS_TOOLS_POLICY_TEXT_H_
#define SCOPEDFS_TOOLS_POLICY_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::tools {

// The contents of `path` ("-": standard input). NOT_FOUND etc. with a
// one-line message naming the file.
absl::StatusOr<std::string> ReadPolicyFile(const std::string& path);

// The policy printed back in a normal form (generation cleared, one field per
// line, fields in schema order), so that two texts of the same policy compare
// equal line by line.
std::string CanonicalPolicyText(v1::Policy policy);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_POLICY_TEXT_H_
