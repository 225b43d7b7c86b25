#include "daemon/admin/admin_server.h"

#include <errno.h>
#include <grp.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"
#include "daemon/log.h"
#include "proto/admin_limits.h"

namespace scopedfs {
namespace {

// The socket is bound as PATH.new, then renamed into place.
constexpr char kBindSuffix[] = ".new";

absl::StatusOr<std::string> Slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Listens on `path`. The socket is bound under a temporary name and renamed
// into place once it listens and has its final mode, so a client that sees
// the path can connect at once (and never through a looser mode).
absl::StatusOr<int> ListenUnix(const std::string& path,
                               const std::string& group_name) {
  // AdminOptionsProblems has checked that it fits.
  const std::string tmp = path + kBindSuffix;
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, tmp.c_str(), tmp.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("cannot create the admin socket");
  unlink(tmp.c_str());
  // Created 0600 from the start: no window in which others may connect.
  const mode_t old_umask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old_umask);
  auto fail = [&](absl::Status st) {
    close(fd);
    unlink(tmp.c_str());
    return st;
  };
  if (bound != 0 || listen(fd, 64) != 0) {
    return fail(absl::InternalError(absl::StrCat(
        "cannot listen on '", path, "': ", std::strerror(errno))));
  }
  if (!group_name.empty()) {
    // The group reaches the socket through the state dir: search permission
    // only (0710), its files stay 0600.
    const std::string dir = path.substr(0, path.rfind('/'));
    const struct group* gr = getgrnam(group_name.c_str());
    if (gr == nullptr || chown(tmp.c_str(), 0, gr->gr_gid) != 0 ||
        chmod(tmp.c_str(), 0660) != 0 || chown(dir.c_str(), 0, gr->gr_gid) != 0 ||
        chmod(dir.c_str(), 0710) != 0) {
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "cannot give the admin socket to group '", group_name, "'")));
    }
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(absl::InternalError(absl::StrCat(
        "cannot put the admin socket at '", path, "': ", std::strerror(errno))));
  }
  return fd;
}

}  // namespace

std::vector<std::string> AdminOptionsProblems(const AdminServerOptions& options) {
  std::vector<std::string> problems;
  const size_t max_path = sizeof(sockaddr_un{}.sun_path) - 1 - strlen(kBindSuffix);
  if (options.socket_path.size() > max_path) {
    problems.push_back(absl::StrCat(
        "admin socket path '", options.socket_path, "' is too long (",
        options.socket_path.size(), " bytes; a Unix socket path has at most ",
        max_path, " here): use a shorter --state_dir"));
  }
  if (!options.socket_group.empty() &&
      getgrnam(options.socket_group.c_str()) == nullptr) {
    problems.push_back(absl::StrCat("--admin_group: there is no group '",
                                    options.socket_group, "'"));
  }
  const std::pair<const char*, const std::string*> tls_files[] = {
      {"--admin_tls_cert", &options.tls_cert_file},
      {"--admin_tls_key", &options.tls_key_file},
      {"--admin_tls_client_ca", &options.tls_client_ca_file}};
  for (const auto& [flag, file] : tls_files) {
    if (!file->empty() && access(file->c_str(), R_OK) != 0) {
      problems.push_back(absl::StrCat(flag, ": cannot read '", *file, "': ",
                                      std::strerror(errno)));
    }
  }
  return problems;
}

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const AdminServerOptions& options, AdminContext context) {
  if (std::vector<std::string> problems = AdminOptionsProblems(options);
      !problems.empty()) {
    return absl::InvalidArgumentError(problems.front());
  }
  std::unique_ptr<AdminServer> server(new AdminServer());
  server->peers_ = std::make_unique<PeerRegistry>(options.admin_uids);
  context.peers = server->peers_.get();
  server->service_ = std::make_unique<AdminService>(context);

  grpc::ServerBuilder builder;
  builder.RegisterService(server->service_.get());
  // Policies of 100k rules and more (gRPC's default bound is 4 MB). The
  // Unix socket's connections (AddInsecureChannelFromFd) get the same
  // channel arguments.
  builder.SetMaxReceiveMessageSize(static_cast<int>(kAdminMaxMessageBytes));
  builder.SetMaxSendMessageSize(static_cast<int>(kAdminMaxMessageBytes));
  const bool tcp = !options.tcp_address.empty();
  if (tcp) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty() ||
        options.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--admin_tcp needs --admin_tls_cert, --admin_tls_key and "
          "--admin_tls_client_ca: the TCP admin endpoint is TLS-only with "
          "client certificates");
    }
    auto cert = Slurp(options.tls_cert_file);
    auto key = Slurp(options.tls_key_file);
    auto ca = Slurp(options.tls_client_ca_file);
    for (const auto* s : {&cert, &key, &ca}) {
      if (!s->ok()) return s->status();
    }
    grpc::SslServerCredentialsOptions ssl(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = *ca;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    builder.AddListeningPort(options.tcp_address, grpc::SslServerCredentials(ssl));
  }
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot start the admin server",
                     tcp ? absl::StrCat(" on ", options.tcp_address) : ""));
  }
  auto fd = ListenUnix(options.socket_path, options.socket_group);
  if (!fd.ok()) return fd.status();
  server->listen_fd_ = *fd;
  server->socket_path_ = options.socket_path;
  server->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  SFS_LOG(kInfo, "admin API on unix:%s%s", options.socket_path,
          tcp ? absl::StrCat(" and tls:", options.tcp_address) : "");
  return server;
}

void AdminServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (RetryEintr([&] { return poll(fds, 2, -1); }) < 0) return;
    if (fds[1].revents != 0) return;
    const int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) continue;
    ucred cred = {};
    socklen_t len = sizeof(cred);
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      close(conn);
      continue;
    }
    // Non-admins are let in so they get a clear PERMISSION_DENIED from the
    // service rather than a dropped connection.
    peers_->Record(conn, PeerRegistry::Peer{cred.uid, cred.gid, cred.pid});
    grpc::AddInsecureChannelFromFd(grpc_server_.get(), conn);
  }
}

AdminServer::~AdminServer() {
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  // Calls in flight get a moment to finish; idle client channels must not
  // hold the daemon's exit up.
  if (grpc_server_) {
    grpc_server_->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(500));
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
}

}  // namespace scopedfs
