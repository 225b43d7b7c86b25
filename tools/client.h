// The connection to scopedfsd's Admin service on its Unix socket, and what
// its failures mean in one line.
#ifndef SCOPEDFS_TOOLS_CLIENT_H_
#define SCOPEDFS_TOOLS_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "scopedfs/v1/admin.grpc.pb.h"

namespace scopedfs::tools {

class AdminClient {
 public:
  // `socket_path`: the daemon's admin socket; every call has `timeout`.
  AdminClient(std::string socket_path, absl::Duration timeout);

  // "unix:PATH".
  const std::string& target() const { return target_; }

  grpc::Status GetPolicy(v1::GetPolicyResponse* response);
  grpc::Status ValidatePolicy(const v1::ValidatePolicyRequest& request,
                              v1::ValidatePolicyResponse* response);
  grpc::Status ApplyPolicy(const v1::ApplyPolicyRequest& request,
                           v1::ApplyPolicyResponse* response);
  grpc::Status Explain(const v1::ExplainRequest& request, v1::ExplainResponse* response);
  grpc::Status GetStats(v1::GetStatsResponse* response);
  grpc::Status Health(v1::HealthResponse* response);
  grpc::Status QueryAudit(const v1::QueryAuditRequest& request,
                          v1::QueryAuditResponse* response);
  grpc::Status GetOwner(const v1::GetOwnerRequest& request, v1::GetOwnerResponse* response);
  grpc::Status SetOwner(const v1::SetOwnerRequest& request, v1::SetOwnerResponse* response);
  grpc::Status ClearOwner(const v1::ClearOwnerRequest& request,
                          v1::ClearOwnerResponse* response);
  grpc::Status SetShadowPolicy(const v1::SetShadowPolicyRequest& request,
                               v1::SetShadowPolicyResponse* response);
  grpc::Status ClearShadowPolicy(v1::ShadowReport* response);
  grpc::Status GetShadowReport(const v1::GetShadowReportRequest& request,
                               v1::ShadowReport* response);
  grpc::Status GetRuleHits(v1::GetRuleHitsResponse* response);
  grpc::Status AddGrant(const v1::AddGrantRequest& request, v1::AddGrantResponse* response);
  grpc::Status RevokeGrant(const v1::RevokeGrantRequest& request,
                           v1::RevokeGrantResponse* response);
  grpc::Status ListGrants(v1::ListGrantsResponse* response);
  grpc::Status ListHandles(const v1::ListHandlesRequest& request,
                           v1::ListHandlesResponse* response);
  // Calls `on_event` for each streamed event until it returns false, the
  // daemon ends the stream, or an event does not parse (DATA_LOSS). Only
  // connecting is bounded by the timeout: a stream may run for as long as
  // it likes.
  grpc::Status StreamAudit(const v1::StreamAuditRequest& request,
                           const std::function<bool(const v1::AuditEvent&)>& on_event);

  // One line for a failed call, by status code rather than by the daemon's
  // wording where the code says it all:
  //   UNAVAILABLE        cannot reach scopedfsd at unix:PATH: <why>
  //   PERMISSION_DENIED  permission denied by scopedfsd: uid N is not an admin
  //   DEADLINE_EXCEEDED  scopedfsd at unix:PATH did not answer within T s
  //   UNIMPLEMENTED      scopedfsd at unix:PATH does not support METHOD ...
  //                      (the daemon's answer only: an answer that does not
  //                      parse is DATA_LOSS, see Call)
  //   RESOURCE_EXHAUSTED the METHOD message is N MB; the Admin API takes at
  //                      most M MB (gRPC's size bound, in words; requests
  //                      above kAdminMaxMessageBytes are refused before they
  //                      are sent: "the policy is N MB; ...")
  //   anything else      the daemon's message (or the code's name if none),
  //                      control characters escaped
  std::string Describe(const grpc::Status& status, const char* method) const;

 private:
  // One unary call with the timeout. An answer that arrived but does not
  // parse (gRPC says UNIMPLEMENTED for that) becomes DATA_LOSS naming
  // `method`: only the daemon's own UNIMPLEMENTED means "not supported".
  grpc::Status Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
                    const char* method);

  const std::string socket_path_;
  const std::string target_;
  const absl::Duration timeout_;
  std::unique_ptr<v1::Admin::Stub> stub_;
};

// "FAILED_PRECONDITION" for grpc::FAILED_PRECONDITION etc.
const char* StatusCodeName(grpc::StatusCode code);

// Why a Unix socket cannot be connected to ("No such file or directory",
// "Connection refused", ...), or "" if a plain connect(2) succeeds.
std::string ProbeUnixSocket(const std::string& path);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_CLIENT_H_
