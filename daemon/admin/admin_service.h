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

 private:
  grpc::Status CheckAdmin(grpc::ServerContext* context) const;
  // The admin behind a call that passed CheckAdmin, for audit events.
  admin::AdminCaller CallerOf(grpc::ServerContext* context) const;
  const AdminContext ctx_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ADMIN_ADMIN_SERVICE_H_
