// The admin endpoint: the Admin gRPC service on a Unix socket in the state
// dir (mode 0600, or 0660 with --admin_group), peers checked with
// SO_PEERCRED; optionally also TCP, only with TLS and required, verified
// client certificates.
#ifndef SCOPEDFS_DAEMON_ADMIN_ADMIN_SERVER_H_
#define SCOPEDFS_DAEMON_ADMIN_ADMIN_SERVER_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "daemon/admin/admin_service.h"
#include "daemon/admin/peer_registry.h"

namespace grpc {
class Server;
}

namespace scopedfs {

struct AdminServerOptions {
  std::string socket_path;
  std::string socket_group;  // Empty: mode 0600 (root only at the socket).
  absl::flat_hash_set<uid_t> admin_uids;
  // TCP with mutual TLS; all empty: no TCP listener.
  std::string tcp_address;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
};

// What AdminServer::Start would refuse, found before anything is bound (and
// by --check-config): a socket path too long for a Unix socket, an
// --admin_group that does not exist, TLS files that cannot be read. One
// message per problem, naming the flag to change; empty if none.
std::vector<std::string> AdminOptionsProblems(const AdminServerOptions& options);

class AdminServer {
 public:
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const AdminServerOptions& options, AdminContext context);
  ~AdminServer();  // Stops accepting, shuts gRPC down, removes the socket.

 private:
  AdminServer() = default;
  void AcceptLoop();

  std::unique_ptr<PeerRegistry> peers_;
  std::unique_ptr<AdminService> service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that ends the accept loop.
  std::thread accept_thread_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ADMIN_ADMIN_SERVER_H_
