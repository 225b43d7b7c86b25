// The Admin gRPC service (proto/scopedfs/v1/admin.proto). Every call first
// checks that the peer is an admin: root or a configured admin uid on the
// Unix socket, or a verified client certificate on the TLS listener.
#ifndef SCOPEDFS_DAEMON_ADMIN_ADMIN_SERVICE_H_
#define SCOPEDFS_DAEMON_ADMIN_ADMIN_SERVICE_H_

#include <chrono>
#include <string>

#include "daemon/admin/owner_admin.h"
#include "daemon/admin/peer_registry.h"
#include "daemon/policy_store.h"
#include "daemon/server.h"
#include "scopedfs/v1/admin.grpc.pb.h"

namespace scopedfs {

struct AdminContext {
  PolicyStore* policy = nullptr;
  Server* server = nullptr;
  PeerRegistry* peers = nullptr;  // Set by AdminServer.
  std::string source;
  std::string mountpoint;
  std::chrono::steady_clock::time_point started;
};

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(AdminContext context) : ctx_(std::move(context)) {}

  grpc::Status GetPolicy(grpc::ServerContext* context,
                         const v1::GetPolicyRequest* request,
                         v1::GetPolicyResponse* response) override;
  grpc::Status ValidatePolicy(grpc::ServerContext* context,
                              const v1::ValidatePolicyRequest* request,
                              v1::ValidatePolicyResponse* response) override;
  grpc::Status ApplyPolicy(grpc::ServerContext* context,
                           const v1::ApplyPolicyRequest* request,
                           v1::ApplyPolicyResponse* response) override;
  grpc::Status Explain(grpc::ServerContext* context,
                       const v1::ExplainRequest* request,
                       v1::ExplainResponse* response) override;
  grpc::Status GetStats(grpc::ServerContext* context,
                        const v1::GetStatsRequest* request,
                        v1::GetStatsResponse* response) override;
  grpc::Status Health(grpc::ServerContext* context,
                      const v1::HealthRequest* request,
                      v1::HealthResponse* response) override;
  grpc::Status StreamAudit(grpc::ServerContext* context,
                           const v1::StreamAuditRequest* request,
                           grpc::ServerWriter<v1::AuditEvent>* writer) override;
  grpc::Status QueryAudit(grpc::ServerContext* context,
                          const v1::QueryAuditRequest* request,
                          v1::QueryAuditResponse* response) override;
  grpc::Status GetOwner(grpc::ServerContext* context,
                        const v1::GetOwnerRequest* request,
                        v1::GetOwnerResponse* response) override;
  grpc::Status SetOwner(grpc::ServerContext* context,
                        const v1::SetOwnerRequest* request,
                        v1::SetOwnerResponse* response) override;
  grpc::Status ClearOwner(grpc::ServerContext* context,
                          const v1::ClearOwnerRequest* request,
                          v1::ClearOwnerResponse* response) override;
  // Issue 17's admin plane: shadow policy, rule hits, grants, handles.
  grpc::Status SetShadowPolicy(grpc::ServerContext* context,
                      const v1::SetShadowPolicyRequest* request,
                      v1::SetShadowPolicyResponse* response) override;
  grpc::Status ClearShadowPolicy(grpc::ServerContext* context,
                      const v1::ClearShadowPolicyRequest* request,
                      v1::ShadowReport* response) override;
  grpc::Status GetShadowReport(grpc::ServerContext* context,
                      const v1::GetShadowReportRequest* request,
                      v1::ShadowReport* response) override;
  grpc::Status GetRuleHits(grpc::ServerContext* context,
                      const v1::GetRuleHitsRequest* request,
                      v1::GetRuleHitsResponse* response) override;
  grpc::Status AddGrant(grpc::ServerContext* context,
                      const v1::AddGrantRequest* request,
                      v1::AddGrantResponse* response) override;
  grpc::Status RevokeGrant(grpc::ServerContext* context,
                      const v1::RevokeGrantRequest* request,
                      v1::RevokeGrantResponse* response) override;
  grpc::Status ListGrants(grpc::ServerContext* context,
                      const v1::ListGrantsRequest* request,
                      v1::ListGrantsResponse* response) override;
  grpc::Status ListHandles(grpc::ServerContext* context,
                      const v1::ListHandlesRequest* request,
                      v1::ListHandlesResponse* response) override;

 private:
  grpc::Status CheckAdmin(grpc::ServerContext* context) const;
  // The admin behind a call that passed CheckAdmin, for audit events.
  admin::AdminCaller CallerOf(grpc::ServerContext* context) const;
  const AdminContext ctx_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ADMIN_ADMIN_SERVICE_H_
