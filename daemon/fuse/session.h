// A mounted FUSE session: made and mounted by Mount, unmounted and freed by
// the destructor, so no error path can leave a mount without a daemon.
#ifndef SCOPEDFS_DAEMON_FUSE_SESSION_H_
#define SCOPEDFS_DAEMON_FUSE_SESSION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct fuse_session;

namespace scopedfs {

class Server;

class FuseSession {
 public:
  // A session for `server` (its ops: daemon/fuse/ops.h) with libfuse's
  // `mount_options` ("allow_other,fsname=..."), its signal handlers
  // (SIGINT, SIGTERM, SIGHUP end the loop) installed, mounted at
  // `mountpoint`. With `debug`, libfuse traces every request.
  static absl::StatusOr<std::unique_ptr<FuseSession>> Mount(
      Server* server, const std::string& mount_options,
      const std::string& mountpoint, bool debug);
  ~FuseSession();  // Unmounts (if still mounted), then frees the session.
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  fuse_session* get() const { return se_; }

  // Serves requests on up to `threads` worker threads (kept, not restarted,
  // between requests) until an unmount or a shutdown signal. Returns
  // libfuse's result: a signal number after a signal, 0 after an unmount,
  // -errno on an error.
  int Loop(int threads);

 private:
  explicit FuseSession(fuse_session* se) : se_(se) {}
  fuse_session* const se_;
  bool mounted_ = false;
  bool signal_handlers_ = false;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_SESSION_H_
