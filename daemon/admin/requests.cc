#include "daemon/admin/requests.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "audit/escape.h"
#include "policy/validate.h"

namespace scopedfs::admin {

v1::ValidatePolicyResponse Validate(const v1::ValidatePolicyRequest& request) {
  v1::ValidatePolicyResponse response;
  absl::StatusOr<v1::Policy> parsed;
  if (request.source_case() == v1::ValidatePolicyRequest::kText) {
    // Every parse error on its own, as scopedfsd reports them for --policy
    // (one parser: policy/policy_text.h).
    v1::Policy policy;
    for (const std::string& error : policy::ParseTextFormat(request.text(), &policy)) {
      v1::PolicyError* e = response.add_errors();
      e->set_field("text");
      e->set_message(error);
    }
    if (response.errors_size() > 0) return response;
    parsed = std::move(policy);
  } else {
    parsed = PolicyOf(request);
  }
  if (!parsed.ok()) {
    v1::PolicyError* e = response.add_errors();
    e->set_field("text");
    e->set_message(std::string(parsed.status().message()));
  } else {
    for (const policy::PolicyError& err : policy::ValidatePolicy(*parsed)) {
      v1::PolicyError* e = response.add_errors();
      e->set_field(err.field);
      e->set_message(err.message);
    }
  }
  response.set_valid(response.errors_size() == 0);
  return response;
}

absl::Status PrepareExplain(const v1::ExplainRequest& request, ExplainCall* call) {
  if (request.operation() == v1::OPERATION_UNSPECIFIED) {
    return absl::InvalidArgumentError("operation is required");
  }
  if (!v1::Operation_IsValid(request.operation())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown operation ", static_cast<int>(request.operation())));
  }
  absl::string_view path = request.path();
  while (absl::ConsumePrefix(&path, "/")) {
  }
  const bool is_dir = absl::EndsWith(path, "/");
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  call->req = policy::Request();
  call->req.uid = request.uid();
  call->req.gid = request.gid();
  call->req.path = path;
  call->req.op = request.operation();
  call->req.is_dir = is_dir;
  call->req.caller_is_owner = request.caller_is_owner();
  if (request.caller_case() == v1::ExplainRequest::kApp) {
    call->app = request.app();
    call->req.app_name = &call->app;
  }
  return absl::OkStatus();
}

// Page tokens: "a<id>" continues oldest-first after id, "b<id>" continues
// newest-first before id.
absl::StatusOr<AuditPage> AuditPageOf(const v1::QueryAuditRequest& request) {
  AuditPage page;
  page.newest_first = request.newest_first();
  page.limit = std::min(request.limit() == 0 ? kDefaultAuditPage : request.limit(),
                        kMaxAuditPage);
  if (!request.page_token().empty()) {
    absl::string_view token = request.page_token();
    uint64_t id = 0;
    if (!absl::ConsumePrefix(&token, page.newest_first ? "b" : "a") ||
        !absl::SimpleAtoi(token, &id) || id == 0) {
      return absl::InvalidArgumentError(
          "bad page_token (it must come from a previous response of a query "
          "in the same order)");
    }
    (page.newest_first ? page.before_id : page.after_id) = id;
  }
  return page;
}

void FillAuditPage(const AuditPage& page, std::vector<v1::AuditEvent> events,
                   v1::QueryAuditResponse* response) {
  const bool more = events.size() > page.limit;
  if (more) events.resize(page.limit);
  if (more && !events.empty()) {
    response->set_next_page_token(
        absl::StrCat(page.newest_first ? "b" : "a", events.back().id()));
  }
  for (v1::AuditEvent& e : events) {
    ToWire(&e);
    *response->add_events() = std::move(e);
  }
}

void ToWire(v1::AuditEvent* event) {
  for (std::string* s : {event->mutable_path(), event->mutable_comm(),
                         event->mutable_exe(), event->mutable_redaction()}) {
    if (audit::NeedsEscape(*s)) *s = audit::Escape(*s);
  }
}

absl::StatusOr<v1::AuditFilter> StoredFilterOf(const v1::AuditFilter& wire) {
  v1::AuditFilter stored = wire;
  absl::StatusOr<std::string> path = audit::Unescape(wire.path_prefix());
  if (!path.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter path: ", path.status().message()));
  }
  stored.set_path_prefix(*std::move(path));
  return stored;
}

absl::StatusOr<std::string> OwnerPathOf(absl::string_view wire_path) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad path \"", audit::EscapeControls(wire_path), "\": ", why));
  };
  absl::StatusOr<std::string> raw = audit::Unescape(wire_path);
  if (!raw.ok()) return bad(raw.status().message());
  absl::string_view path = *raw;
  if (absl::StartsWith(path, "/")) {
    return bad("absolute; give it relative to the mount root");
  }
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  if (path.empty()) return bad("empty (the mount root has no owner)");
  if (path.find('\0') != absl::string_view::npos) return bad("it holds a NUL byte");
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty()) return bad("an empty component (\"//\")");
    if (part == "." || part == "..") {
      return bad(absl::StrCat("\"", part, "\" components are not allowed"));
    }
  }
  return std::string(path);
}

}  // namespace scopedfs::admin
