#include "daemon/admin/admin_service.h"

#include "absl/strings/str_cat.h"
#include "daemon/admin/grant_admin.h"
#include "daemon/admin/handle_admin.h"
#include "daemon/admin/policy_observe.h"
#include "daemon/admin/requests.h"
#include "daemon/admin/snapshots.h"
#include "daemon/log.h"
#include "policy/policy_text.h"
#include "proto/admin_limits.h"

namespace scopedfs {
namespace {

grpc::Status ToGrpc(const absl::Status& st) {
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()),
                      std::string(st.message()));
}

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
  // The admin's policy: grants are listed by ListGrants.
  const v1::Policy policy = ctx_.policy->policy();
  *response->mutable_policy() = policy;
  response->set_text(policy::PolicyToText(policy));
  if (response->ByteSizeLong() > kAdminMaxMessageBytes) {
    // The text alone (clients read it first); the message keeps the
    // generation.
    response->mutable_policy()->Clear();
    response->mutable_policy()->set_generation(policy.generation());
  }
  if (const size_t size = response->ByteSizeLong(); size > kAdminMaxMessageBytes) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("the running policy is ", AdminMegabytes(size),
                                     " as text; the Admin API answers at most ",
                                     AdminMegabytes(kAdminMaxMessageBytes)));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::ValidatePolicy(
    grpc::ServerContext* context, const v1::ValidatePolicyRequest* request,
    v1::ValidatePolicyResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  *response = admin::Validate(*request);
  return grpc::Status::OK;
}

grpc::Status AdminService::ApplyPolicy(grpc::ServerContext* context,
                                       const v1::ApplyPolicyRequest* request,
                                       v1::ApplyPolicyResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto parsed = admin::PolicyOf(*request);
  if (!parsed.ok()) return ToGrpc(parsed.status());
  admin::LosingHandles losing;
  auto generation = ctx_.policy->Apply(
      *parsed, request->expected_generation(),
      admin::RevocationCheck(ctx_.server, request->refuse_unrevocable(), &losing));
  if (!generation.ok()) return ToGrpc(generation.status());
  response->set_generation(*generation);
  for (v1::Handle& h : losing.revocable) *response->add_revoked() = std::move(h);
  for (v1::Handle& h : losing.unrevocable) {
    Stats::Add(ctx_.server->stats().handles_unrevocable);
    *response->add_unrevocable() = std::move(h);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::Explain(grpc::ServerContext* context,
                                   const v1::ExplainRequest* request,
                                   v1::ExplainResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  admin::ExplainCall call;
  if (auto st = admin::PrepareExplain(*request, &call); !st.ok()) {
    return ToGrpc(st);
  }
  *response->mutable_decision() = ctx_.policy->engine()->Explain(call.req);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetStats(grpc::ServerContext* context,
                                    const v1::GetStatsRequest*,
                                    v1::GetStatsResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  *response = admin::StatsOf(ctx_);
  return grpc::Status::OK;
}

grpc::Status AdminService::Health(grpc::ServerContext* context,
                                  const v1::HealthRequest*,
                                  v1::HealthResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  *response = admin::HealthOf(ctx_);
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
  auto filter = admin::StoredFilterOf(request->filter());
  if (!filter.ok()) return ToGrpc(filter.status());
  uint64_t after =
      request->has_after_id() ? request->after_id() : log->last_committed_id();
  // Stored events first, then each commit as it lands. The cursor moves
  // past every committed id the query covered, matching or not, so a
  // selective filter does not rescan.
  while (!context->IsCancelled()) {
    const uint64_t committed = log->last_committed_id();
    if (committed > after) {
      auto events = log->Query(*filter, after, committed + 1,
                               /*newest_first=*/false, kStreamChunk);
      if (!events.ok()) return ToGrpc(events.status());
      for (v1::AuditEvent& e : *events) {
        admin::ToWire(&e);
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
  auto page = admin::AuditPageOf(*request);
  if (!page.ok()) return ToGrpc(page.status());
  auto filter = admin::StoredFilterOf(request->filter());
  if (!filter.ok()) return ToGrpc(filter.status());
  // An admin who just watched a client act expects its events: wait (a
  // little) for what was decided before this call to be committed.
  log->Flush(absl::Milliseconds(250));
  // One more than asked tells whether another page follows.
  auto events = log->Query(*filter, page->after_id, page->before_id,
                           page->newest_first, size_t{page->limit} + 1);
  if (!events.ok()) return ToGrpc(events.status());
  admin::FillAuditPage(*page, *std::move(events), response);
  return grpc::Status::OK;
}

admin::AdminCaller AdminService::CallerOf(grpc::ServerContext* context) const {
  admin::AdminCaller caller;
  if (auto peer = ctx_.peers->PeerOf(context->peer())) {
    caller.uid = peer->uid;
    caller.gid = peer->gid;
    caller.pid = static_cast<uint32_t>(peer->pid);
  } else {
    caller.where = absl::StrCat("tls:", context->peer());  // uid 0: a TLS admin
  }
  return caller;
}

grpc::Status AdminService::GetOwner(grpc::ServerContext* context,
                                    const v1::GetOwnerRequest* request,
                                    v1::GetOwnerResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto got = admin::OwnerAdmin(ctx_.server).Get(*request);
  if (!got.ok()) return ToGrpc(got.status());
  *response = *std::move(got);
  return grpc::Status::OK;
}

grpc::Status AdminService::SetOwner(grpc::ServerContext* context,
                                    const v1::SetOwnerRequest* request,
                                    v1::SetOwnerResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto set = admin::OwnerAdmin(ctx_.server).Set(*request, CallerOf(context));
  if (!set.ok()) return ToGrpc(set.status());
  *response = *std::move(set);
  return grpc::Status::OK;
}

grpc::Status AdminService::ClearOwner(grpc::ServerContext* context,
                                      const v1::ClearOwnerRequest* request,
                                      v1::ClearOwnerResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto cleared = admin::OwnerAdmin(ctx_.server).Clear(*request, CallerOf(context));
  if (!cleared.ok()) return ToGrpc(cleared.status());
  *response = *std::move(cleared);
  return grpc::Status::OK;
}

grpc::Status AdminService::SetShadowPolicy(grpc::ServerContext* context,
                                           const v1::SetShadowPolicyRequest* request,
                                           v1::SetShadowPolicyResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto set = admin::SetShadow(*ctx_.policy, *request);
  if (!set.ok()) return ToGrpc(set.status());
  *response = *std::move(set);
  return grpc::Status::OK;
}

grpc::Status AdminService::ClearShadowPolicy(grpc::ServerContext* context,
                                             const v1::ClearShadowPolicyRequest*,
                                             v1::ShadowReport* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  *response = ctx_.policy->shadow().Clear(admin::TopPaths(0));
  return grpc::Status::OK;
}

grpc::Status AdminService::GetShadowReport(grpc::ServerContext* context,
                                           const v1::GetShadowReportRequest* request,
                                           v1::ShadowReport* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  *response = ctx_.policy->shadow().Report(admin::TopPaths(request->top_paths()));
  return grpc::Status::OK;
}

grpc::Status AdminService::GetRuleHits(grpc::ServerContext* context,
                                       const v1::GetRuleHitsRequest*,
                                       v1::GetRuleHitsResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  *response = admin::RuleHitsOf(*ctx_.policy);
  return grpc::Status::OK;
}

grpc::Status AdminService::AddGrant(grpc::ServerContext* context,
                                    const v1::AddGrantRequest* request,
                                    v1::AddGrantResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto added = admin::AddGrant(ctx_.server, *request, CallerOf(context));
  if (!added.ok()) return ToGrpc(added.status());
  *response = *std::move(added);
  return grpc::Status::OK;
}

grpc::Status AdminService::RevokeGrant(grpc::ServerContext* context,
                                       const v1::RevokeGrantRequest* request,
                                       v1::RevokeGrantResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  auto revoked = admin::RevokeGrant(ctx_.server, *request, CallerOf(context));
  if (!revoked.ok()) return ToGrpc(revoked.status());
  *response = *std::move(revoked);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListGrants(grpc::ServerContext* context,
                                      const v1::ListGrantsRequest*,
                                      v1::ListGrantsResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  const v1::GrantList grants = ctx_.policy->grants();
  for (const v1::Grant& g : grants.grants()) *response->add_grants() = g;
  return grpc::Status::OK;
}

grpc::Status AdminService::ListHandles(grpc::ServerContext* context,
                                       const v1::ListHandlesRequest* request,
                                       v1::ListHandlesResponse* response) {
  if (auto st = CheckAdmin(context); !st.ok()) return st;
  *response = admin::ListHandles(*ctx_.server, *request);
  return grpc::Status::OK;
}

}  // namespace scopedfs
