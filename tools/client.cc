#include "tools/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "proto/admin_limits.h"
#include "tools/output.h"

namespace scopedfs::tools {
namespace {

// What gRPC's blocking unary call reports when the answer arrived but could
// not be parsed (grpcpp/impl/client_unary_call.h): a client-side code, not
// the daemon saying it lacks the method.
constexpr char kUnparsedUnaryAnswer[] = "No message returned for unary request";

grpc::Status Undecodable(const char* what) {
  return grpc::Status(
      grpc::StatusCode::DATA_LOSS,
      absl::StrCat("cannot decode scopedfsd's answer to ", what,
                   ": it is not a valid scopedfs.v1 message (text fields must "
                   "be UTF-8; a daemon that sends raw file names is older "
                   "than this scopedctl)"));
}

// A channel whose messages may be as large as the daemon's (gRPC's default
// bound for answers is 4 MB: a policy of 30k rules).
std::shared_ptr<grpc::Channel> AdminChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(kAdminMaxMessageBytes));
  args.SetMaxSendMessageSize(static_cast<int>(kAdminMaxMessageBytes));
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// A request too large for the admin API, refused before it is sent, in
// words: "the policy is 300 MB; the Admin API takes at most 256 MB".
grpc::Status CheckRequestSize(const google::protobuf::Message& request, const char* what) {
  const size_t size = request.ByteSizeLong();
  if (size <= kAdminMaxMessageBytes) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat(what, " is ", AdminMegabytes(size),
                                   "; the Admin API takes at most ",
                                   AdminMegabytes(kAdminMaxMessageBytes)));
}

}  // namespace

AdminClient::AdminClient(std::string socket_path, absl::Duration timeout)
    : socket_path_(std::move(socket_path)),
      target_("unix:" + socket_path_),
      timeout_(timeout),
      stub_(v1::Admin::NewStub(AdminChannel(target_))) {}

grpc::Status AdminClient::Call(
    const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
    const char* method) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(timeout_));
  grpc::Status status = rpc(&context);
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
      status.error_message() == kUnparsedUnaryAnswer) {
    return Undecodable(method);
  }
  return status;
}

grpc::Status AdminClient::GetPolicy(v1::GetPolicyResponse* response) {
  return Call([&](grpc::ClientContext* c) {
    return stub_->GetPolicy(c, v1::GetPolicyRequest(), response);
  }, "GetPolicy");
}

grpc::Status AdminClient::ValidatePolicy(const v1::ValidatePolicyRequest& request,
                                         v1::ValidatePolicyResponse* response) {
  if (grpc::Status st = CheckRequestSize(request, "the policy"); !st.ok()) return st;
  return Call([&](grpc::ClientContext* c) { return stub_->ValidatePolicy(c, request, response); },
              "ValidatePolicy");
}

grpc::Status AdminClient::ApplyPolicy(const v1::ApplyPolicyRequest& request,
                                      v1::ApplyPolicyResponse* response) {
  if (grpc::Status st = CheckRequestSize(request, "the policy"); !st.ok()) return st;
  return Call([&](grpc::ClientContext* c) { return stub_->ApplyPolicy(c, request, response); },
              "ApplyPolicy");
}

grpc::Status AdminClient::Explain(const v1::ExplainRequest& request,
                                  v1::ExplainResponse* response) {
  if (grpc::Status st = CheckRequestSize(request, "the request"); !st.ok()) return st;
  return Call([&](grpc::ClientContext* c) { return stub_->Explain(c, request, response); },
              "Explain");
}

grpc::Status AdminClient::GetStats(v1::GetStatsResponse* response) {
  return Call([&](grpc::ClientContext* c) {
    return stub_->GetStats(c, v1::GetStatsRequest(), response);
  }, "GetStats");
}

grpc::Status AdminClient::QueryAudit(const v1::QueryAuditRequest& request,
                                     v1::QueryAuditResponse* response) {
  return Call([&](grpc::ClientContext* c) { return stub_->QueryAudit(c, request, response); },
              "QueryAudit");
}

grpc::Status AdminClient::GetOwner(const v1::GetOwnerRequest& request,
                                   v1::GetOwnerResponse* response) {
  return Call([&](grpc::ClientContext* c) { return stub_->GetOwner(c, request, response); },
              "GetOwner");
}

grpc::Status AdminClient::SetOwner(const v1::SetOwnerRequest& request,
                                   v1::SetOwnerResponse* response) {
  return Call([&](grpc::ClientContext* c) { return stub_->SetOwner(c, request, response); },
              "SetOwner");
}

grpc::Status AdminClient::ClearOwner(const v1::ClearOwnerRequest& request,
                                     v1::ClearOwnerResponse* response) {
  return Call([&](grpc::ClientContext* c) { return stub_->ClearOwner(c, request, response); },
              "ClearOwner");
}

grpc::Status AdminClient::SetShadowPolicy(const v1::SetShadowPolicyRequest& request,
                                          v1::SetShadowPolicyResponse* response) {
  if (grpc::Status st = CheckRequestSize(request, "the shadow policy"); !st.ok()) return st;
  return Call(
      [&](grpc::ClientContext* c) { return stub_->SetShadowPolicy(c, request, response); },
      "SetShadowPolicy");
}

grpc::Status AdminClient::ClearShadowPolicy(v1::ShadowReport* response) {
  return Call([&](grpc::ClientContext* c) {
    return stub_->ClearShadowPolicy(c, v1::ClearShadowPolicyRequest(), response);
  }, "ClearShadowPolicy");
}

grpc::Status AdminClient::GetShadowReport(const v1::GetShadowReportRequest& request,
                                          v1::ShadowReport* response) {
  return Call(
      [&](grpc::ClientContext* c) { return stub_->GetShadowReport(c, request, response); },
      "GetShadowReport");
}

grpc::Status AdminClient::GetRuleHits(v1::GetRuleHitsResponse* response) {
  return Call([&](grpc::ClientContext* c) {
    return stub_->GetRuleHits(c, v1::GetRuleHitsRequest(), response);
  }, "GetRuleHits");
}

grpc::Status AdminClient::AddGrant(const v1::AddGrantRequest& request,
                                   v1::AddGrantResponse* response) {
  if (grpc::Status st = CheckRequestSize(request, "the grant"); !st.ok()) return st;
  return Call([&](grpc::ClientContext* c) { return stub_->AddGrant(c, request, response); },
              "AddGrant");
}

grpc::Status AdminClient::RevokeGrant(const v1::RevokeGrantRequest& request,
                                      v1::RevokeGrantResponse* response) {
  return Call([&](grpc::ClientContext* c) { return stub_->RevokeGrant(c, request, response); },
              "RevokeGrant");
}

grpc::Status AdminClient::ListGrants(v1::ListGrantsResponse* response) {
  return Call([&](grpc::ClientContext* c) {
    return stub_->ListGrants(c, v1::ListGrantsRequest(), response);
  }, "ListGrants");
}

grpc::Status AdminClient::ListHandles(const v1::ListHandlesRequest& request,
                                      v1::ListHandlesResponse* response) {
  return Call([&](grpc::ClientContext* c) { return stub_->ListHandles(c, request, response); },
              "ListHandles");
}

grpc::Status AdminClient::StreamAudit(
    const v1::StreamAuditRequest& request,
    const std::function<bool(const v1::AuditEvent&)>& on_event) {
  grpc::ClientContext context;
  // No deadline for the stream itself; an unreachable daemon still fails
  // within the timeout.
  auto channel = AdminChannel(target_);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 absl::ToChronoNanoseconds(timeout_))) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection timed out");
  }
  // The events are read as bytes and parsed here rather than by the typed
  // stub: a typed reader that cannot parse an event just stops reading, and
  // the stream (which the daemon keeps open) would then hang in Finish().
  const grpc::internal::RpcMethod method(
      absl::StrCat("/", v1::Admin::service_full_name(), "/StreamAudit").c_str(),
      grpc::internal::RpcMethod::SERVER_STREAMING, channel);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel.get(), method, &context, request));
  grpc::ByteBuffer buffer;
  v1::AuditEvent event;
  bool stopped = false;
  while (reader->Read(&buffer)) {
    grpc::ProtoBufferReader bytes(&buffer);
    event.Clear();
    if (!event.ParseFromZeroCopyStream(&bytes)) {
      context.TryCancel();
      reader->Finish();
      return Undecodable("StreamAudit");
    }
    if (!on_event(event)) {
      context.TryCancel();
      stopped = true;
      break;
    }
  }
  grpc::Status status = reader->Finish();
  return stopped && status.error_code() == grpc::StatusCode::CANCELLED ? grpc::Status::OK
                                                                        : status;
}

grpc::Status AdminClient::Health(v1::HealthResponse* response) {
  return Call([&](grpc::ClientContext* c) {
    return stub_->Health(c, v1::HealthRequest(), response);
  }, "Health");
}

std::string AdminClient::Describe(const grpc::Status& status, const char* method) const {
  const std::string message = OneLine(status.error_message());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE: {
      // gRPC's own text ("failed to connect to all addresses; last error:
      // ...") says less than connect(2) does.
      std::string why = ProbeUnixSocket(socket_path_);
      if (why.empty()) why = message.empty() ? "unavailable" : message;
      return absl::StrCat("cannot reach scopedfsd at ", target_, ": ", why);
    }
    case grpc::StatusCode::PERMISSION_DENIED:
      // The daemon checks the peer's effective uid (SO_PEERCRED).
      return absl::StrCat("permission denied by scopedfsd: uid ", geteuid(),
                          " is not an admin");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("scopedfsd at ", target_, " did not answer within ",
                          absl::FormatDuration(timeout_), " (see --timeout)");
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat("scopedfsd at ", target_, " does not support ", method,
                          " (is it older than this scopedctl?)");
    case grpc::StatusCode::RESOURCE_EXHAUSTED: {
      // gRPC's own "Received message larger than max (N vs. M)", from
      // either end (a daemon with another bound than ours).
      uint64_t size = 0, max = 0;
      if (std::sscanf(message.c_str(), "Received message larger than max (%" SCNu64
                      " vs. %" SCNu64 ")", &size, &max) == 2) {
        return absl::StrCat("the ", method, " message is ", AdminMegabytes(size),
                            "; the Admin API takes at most ", AdminMegabytes(max));
      }
      if (absl::StrContains(message, "larger than max")) {
        return absl::StrCat("the ", method, " message is larger than the Admin API takes (at most ",
                            AdminMegabytes(kAdminMaxMessageBytes), ")");
      }
      return message.empty() ? absl::StrCat(method, " failed: RESOURCE_EXHAUSTED") : message;
    }
    default:
      if (message.empty()) {
        return absl::StrCat(method, " failed: ", StatusCodeName(status.error_code()));
      }
      return message;
  }
}

const char* StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

std::string ProbeUnixSocket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::StrCat("socket path is ", path.size(), " bytes long (at most ",
                        sizeof addr.sun_path - 1, ")");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::StrCat("socket: ", std::strerror(errno));
  std::string why;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EAGAIN && errno != EINPROGRESS) {
    why = std::strerror(errno);
  }
  close(fd);
  return why;
}

}  // namespace scopedfs::tools
