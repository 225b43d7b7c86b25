#include "daemon/admin/admin_service.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "daemon/log.h"
#include "policy/policy_text.h"
#include "policy/validate.h"

namespace scopedfs {
namespace {

grpc::Status ToGrpc(const absl::Status& st) {
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()),
                      std::string(st.message()));
}

// The policy a request carries, as a message or as text format.
template <typename Request>
absl::StatusOr<v1::Policy> PolicyOf(const Request& request) {
  if (request.has_policy()) return request.policy();
  if (request.source_case() == Request::kText) {
    return policy::ParsePolicyText(request.text());
  }
  return absl::InvalidArgumentError("no policy in the request");
}

// Query pages: "a<id>" continues oldest-first after id, "b<id>" continues
// newest-first before id.
std::string PageToken(bool newest_first, uint64_t id) {
  return absl::StrCat(newest_first ? "b" : "a", id);
}

absl::StatusOr<uint64_t> ParsePageToken(absl::string_view token,
                                        bool newest_first) {
  uint64_t id = 0;
  if (!absl::ConsumePrefix(&token, newest_first ? "b" : "a") ||
      !absl::SimpleAtoi(token, &id) || id == 0) {
    return absl::InvalidArgumentError(
        "bad page_token (it must come from a previous response of a query "
        "in the same order)");
  }
  return id;
}

constexpr uint32_t kDefaultPage = 100;
constexpr uint32_t kMaxPage = 10000;
// Events a stream reads from the database at a time.
constexpr size_t kStreamChunk = 1000;

}  // namespace

grpc::Status AdminService::CheckAdmin(grpc::ServerContext* context) const {
  const std::string peer = context->peer();
  if (auto uid = ctx_.peers->UidOf(peer)) {
    if (ctx_.peers->IsAdminUid(*uid)) return grpc::Status::OK;
    SFS_LOG_EVERY_SEC(kWarning, "admin call by non-admin uid %d refused", *uid);
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("uid ", *uid, " is not a scopedfs admin"));
  }
  // Not one of our Unix connections: only the TLS listener remains, where
  // gRPC has already verified the client certificate against the CA.
  if (context->auth_context() != nullptr &&
      context->auth_context()->IsPeerAuthenticated()) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "unauthenticated admin peer");
}

grpc::Status AdminService::GetPolicy(grpc::ServerContext* context,
                                     const v1::GetPolicyRequest*,
                                     v1::GetPolicyResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  const auto engine = ctx_.policy->engine();
  *response->mutable_policy() = engine->policy();
  response->set_text(policy::PolicyToText(engine->policy()));
  return grpc::Status::OK;
}

grpc::Status AdminService::ValidatePolicy(
    grpc::ServerContext* context, const v1::ValidatePolicyRequest* request,
    v1::ValidatePolicyResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto parsed = PolicyOf(*request);
  if (!parsed.ok()) {
    response->set_valid(false);
    v1::PolicyError* e = response->add_errors();
    e->set_field("text");
    e->set_message(std::string(parsed.status().message()));
    return grpc::Status::OK;
  }
  for (const policy::PolicyError& err : policy::ValidatePolicy(*parsed)) {
    v1::PolicyError* e = response->add_errors();
    e->set_field(err.field);
    e->set_message(err.message);
  }
  response->set_valid(response->errors_size() == 0);
  return grpc::Status::OK;
}

grpc::Status AdminService::ApplyPolicy(grpc::ServerContext* context,
                                       const v1::ApplyPolicyRequest* request,
                                       v1::ApplyPolicyResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto parsed = PolicyOf(*request);
  if (!parsed.ok()) return ToGrpc(parsed.status());
  auto generation =
      ctx_.policy->Apply(*parsed, request->expected_generation());
  if (!generation.ok()) return ToGrpc(generation.status());
  response->set_generation(*generation);
  return grpc::Status::OK;
}

grpc::Status AdminService::Explain(grpc::ServerContext* context,
                                   const v1::ExplainRequest* request,
                                   v1::ExplainResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  if (request->operation() == v1::OPERATION_UNSPECIFIED) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "operation is required");
  }
  if (!v1::Operation_IsValid(request->operation())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("unknown operation ",
                                     static_cast<int>(request->operation())));
  }
  // Relative to the mount root; a trailing '/' asks about a directory.
  absl::string_view path = request->path();
  while (absl::ConsumePrefix(&path, "/")) {
  }
  const bool is_dir = absl::EndsWith(path, "/");
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  policy::Request req;
  req.uid = request->uid();
  req.gid = request->gid();
  req.path = path;
  req.op = request->operation();
  req.is_dir = is_dir;
  req.caller_is_owner = request->caller_is_owner();
  const std::string app = request->app();
  if (request->caller_case() == v1::ExplainRequest::kApp) req.app_name = &app;
  *response->mutable_decision() = ctx_.policy->engine()->Explain(req);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetStats(grpc::ServerContext* context,
                                    const v1::GetStatsRequest*,
                                    v1::GetStatsResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto* counters = response->mutable_counters();
  ctx_.server->ForEachCounter(
      [&](const std::string& name, uint64_t value, bool gauge) {
        (*counters)[name] = value;
        if (gauge) response->add_gauges(name);
      });
  const Stats& stats = ctx_.server->stats();
  const std::pair<const char*, const LatencyHistogram*> histograms[] = {
      {"decision_latency", &stats.decision_latency},
      {"open_latency", &stats.open_latency},
  };
  for (const auto& [name, histogram] : histograms) {
    const LatencyHistogram::Snapshot snap = histogram->Read();
    v1::Histogram* h = response->add_histograms();
    h->set_name(name);
    for (double b : snap.bounds_seconds) h->add_bounds_seconds(b);
    for (uint64_t c : snap.counts) h->add_counts(c);
    h->set_count(snap.count);
    h->set_sum_seconds(snap.sum_seconds);
  }
  response->set_policy_generation(ctx_.policy->generation());
  return grpc::Status::OK;
}

grpc::Status AdminService::Health(grpc::ServerContext* context,
                                  const v1::HealthRequest*,
                                  v1::HealthResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  response->set_serving(true);
  response->set_source(ctx_.source);
  response->set_mountpoint(ctx_.mountpoint);
  response->set_passthrough(ctx_.server->passthrough_active());
  response->set_policy_generation(ctx_.policy->generation());
  response->set_uptime_seconds(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::steady_clock::now() - ctx_.started)
                                   .count());
  return grpc::Status::OK;
}

grpc::Status AdminService::StreamAudit(
    grpc::ServerContext* context, const v1::StreamAuditRequest* request,
    grpc::ServerWriter<v1::AuditEvent>* writer) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  audit::AuditLog* log = ctx_.server->audit_log();
  if (log == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no audit log");
  }
  uint64_t after =
      request->has_after_id() ? request->after_id() : log->last_committed_id();
  // Stored events first, then each commit as it lands. The cursor moves
  // past every committed id the query covered, matching or not, so a
  // selective filter does not rescan.
  while (!context->IsCancelled()) {
    const uint64_t committed = log->last_committed_id();
    if (committed > after) {
      auto events = log->Query(request->filter(), after, committed + 1,
                               /*newest_first=*/false, kStreamChunk);
      if (!events.ok()) return ToGrpc(events.status());
      for (const v1::AuditEvent& e : *events) {
        if (!writer->Write(e)) return grpc::Status::OK;  // Client gone.
        after = e.id();
      }
      if (events->size() == kStreamChunk) continue;
      after = committed;
    }
    log->WaitForCommit(after, absl::Milliseconds(250));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::QueryAudit(grpc::ServerContext* context,
                                      const v1::QueryAuditRequest* request,
                                      v1::QueryAuditResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  audit::AuditLog* log = ctx_.server->audit_log();
  if (log == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no audit log");
  }
  const bool newest_first = request->newest_first();
  uint32_t limit = request->limit() == 0 ? kDefaultPage : request->limit();
  limit = std::min(limit, kMaxPage);
  uint64_t after = 0, before = 0;
  if (!request->page_token().empty()) {
    auto id = ParsePageToken(request->page_token(), newest_first);
    if (!id.ok()) return ToGrpc(id.status());
    (newest_first ? before : after) = *id;
  }
  // One more than asked tells whether another page follows.
  auto events = log->Query(request->filter(), after, before,
                                  newest_first, size_t{limit} + 1);
  if (!events.ok()) return ToGrpc(events.status());
  const bool more = events->size() > limit;
  if (more) events->resize(limit);
  for (v1::AuditEvent& e : *events) *response->add_events() = std::move(e);
  if (more && !events->empty()) {
    response->set_next_page_token(PageToken(newest_first, events->back().id()));
  }
  return grpc::Status::OK;
}

}  // namespace scopedfs
