// Who is on the other end of each admin connection.
//
// gRPC does not expose a Unix socket's peer credentials, so the daemon accepts
// admin connections itself, reads SO_PEERCRED, records the uid under the
// descriptor number and only then hands the descriptor to gRPC, which names
// such a peer "fd:<n>". A handler maps its peer back to the uid here. A
// descriptor number is re-recorded on every accept before gRPC sees it, so a
// reused number never carries an old peer's identity.
#ifndef SCOPEDFS_DAEMON_ADMIN_PEER_REGISTRY_H_
#define SCOPEDFS_DAEMON_ADMIN_PEER_REGISTRY_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace scopedfs {

class PeerRegistry {
 public:
  explicit PeerRegistry(absl::flat_hash_set<uid_t> admin_uids)
      : admin_uids_(std::move(admin_uids)) {}

  // The peer's credentials (SO_PEERCRED) as of connecting.
  struct Peer {
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid = 0;
  };
  void Record(int fd, const Peer& peer);
  void Record(int fd, uid_t uid) { Record(fd, Peer{uid, 0, 0}); }
  // The peer behind a gRPC peer string "fd:<n>", if we accepted it.
  std::optional<Peer> PeerOf(const std::string& grpc_peer) const;
  std::optional<uid_t> UidOf(const std::string& grpc_peer) const {
    const std::optional<Peer> peer = PeerOf(grpc_peer);
    if (!peer.has_value()) return std::nullopt;
    return peer->uid;
  }
  // Root and the configured admin uids.
  bool IsAdminUid(uid_t uid) const { return uid == 0 || admin_uids_.contains(uid); }

 private:
  const absl::flat_hash_set<uid_t> admin_uids_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, Peer> by_fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ADMIN_PEER_REGISTRY_H_
