#include "daemon/admin/admin_service.h"

#include "absl/strings/match.h"
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
  ctx_.server->stats().ForEach(
      ctx_.server->nodes().size(),
      [counters](const char* name, uint64_t value) { (*counters)[name] = value; });
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

}  // namespace scopedfs
