// The Admin service's request handling that needs no running daemon: how a
// request becomes a policy, an engine request or an audit page. The service
// (admin_service.cc) and the fuzzer (fuzz/admin_fuzz.cc) share it, so what
// is fuzzed is what serves.
#ifndef SCOPEDFS_DAEMON_ADMIN_REQUESTS_H_
#define SCOPEDFS_DAEMON_ADMIN_REQUESTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/engine.h"
#include "policy/policy_text.h"
#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::admin {

// The policy a ValidatePolicy or ApplyPolicy request carries (a message, or
// protobuf text format).
template <typename Request>
absl::StatusOr<v1::Policy> PolicyOf(const Request& request) {
  if (request.has_policy()) return request.policy();
  if (request.source_case() == Request::kText) {
    return policy::ParsePolicyText(request.text());
  }
  return absl::InvalidArgumentError("no policy in the request");
}

// ValidatePolicy's answer: every error with its field path (a text that does
// not parse: each parse error, "line L:C: message", on the field "text").
v1::ValidatePolicyResponse Validate(const v1::ValidatePolicyRequest& request);

// An Explain request as an engine request. `req.path` views the request's
// path and `req.app_name` points at `app`: keep both alive, don't copy.
struct ExplainCall {
  ExplainCall() = default;
  ExplainCall(const ExplainCall&) = delete;
  ExplainCall& operator=(const ExplainCall&) = delete;
  policy::Request req;
  std::string app;
};
// InvalidArgument for a missing or unknown operation. The path is relative
// to the mount root: leading '/' are dropped, a trailing '/' asks about a
// directory.
absl::Status PrepareExplain(const v1::ExplainRequest& request, ExplainCall* call);

// The slice of the audit trail a QueryAudit request asks for.
struct AuditPage {
  uint64_t after_id = 0;   // exclusive; 0: from the start
  uint64_t before_id = 0;  // exclusive; 0: no bound
  uint32_t limit = 0;
  bool newest_first = false;
};
constexpr uint32_t kDefaultAuditPage = 100;
constexpr uint32_t kMaxAuditPage = 10000;
// InvalidArgument for a page token that is not one of ours (or of the other
// order).
absl::StatusOr<AuditPage> AuditPageOf(const v1::QueryAuditRequest& request);
// Fills `response` from up to limit + 1 stored `events` (the extra one only
// says that another page follows: it sets next_page_token), as the wire
// carries them (ToWire).
void FillAuditPage(const AuditPage& page, std::vector<v1::AuditEvent> events,
                   v1::QueryAuditResponse* response);

// A stored event (raw bytes, as the database holds them) as the wire
// carries it: the strings clients supplied (path, comm, exe, redaction) in
// the escaped form of audit/escape.h, so every field is valid UTF-8 and
// free of control characters, whatever a client named its files or
// processes. app and rule_id come from the policy and stay as they are.
void ToWire(v1::AuditEvent* event);

// A filter from the wire as the database compares it: path_prefix
// unescaped to the bytes it stands for. InvalidArgument for a bad escape.
absl::StatusOr<v1::AuditFilter> StoredFilterOf(const v1::AuditFilter& wire);

// The path of an owner request (GetOwner, SetOwner, ClearOwner) as the
// owner store keys it: the raw bytes of a path relative to the mount root,
// given in the escaped form of audit/escape.h. Trailing '/' are dropped.
// InvalidArgument (naming the path, escaped) for a bad escape, an empty
// path, an absolute one, "." or ".." components, empty components ("a//b")
// and NUL bytes.
absl::StatusOr<std::string> OwnerPathOf(absl::string_view wire_path);

}  // namespace scopedfs::admin

#endif  // SCOPEDFS_DAEMON_ADMIN_REQUESTS_H_
