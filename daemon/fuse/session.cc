#include "daemon/fuse/session.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <sys/mount.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/fuse/ops.h"
#include "daemon/server.h"

namespace scopedfs {

absl::StatusOr<std::unique_ptr<FuseSession>> FuseSession::Mount(
    Server* server, const std::string& mount_options,
    const std::string& mountpoint, bool debug) {
  std::vector<std::string> argv_store = {"scopedfsd", "-o", mount_options};
  if (debug) argv_store.push_back("-d");
  std::vector<char*> argv;
  for (std::string& s : argv_store) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  static const fuse_lowlevel_ops ops = MakeFuseOps();
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), server);
  fuse_opt_free_args(&args);  // libfuse may have copied argv; it parsed it.
  if (se == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("libfuse refused the mount options '", mount_options, "'"));
  }
  std::unique_ptr<FuseSession> session(new FuseSession(se));
  server->set_session(se);
  if (fuse_set_signal_handlers(se) != 0) {
    return absl::InternalError("cannot install the signal handlers");
  }
  session->signal_handlers_ = true;
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    // A signal can interrupt libfuse after the mount itself succeeded:
    // never leave a mount without a daemon behind.
    umount2(mountpoint.c_str(), MNT_DETACH);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot mount at '", mountpoint, "' (is /dev/fuse there, "
                     "and may this user mount?)"));
  }
  session->mounted_ = true;
  return session;
}

FuseSession::~FuseSession() {
  if (mounted_) fuse_session_unmount(se_);
  if (signal_handlers_) fuse_remove_signal_handlers(se_);
  fuse_session_destroy(se_);
}

int FuseSession::Loop(int threads) {
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 0);
  fuse_loop_cfg_set_max_threads(loop, threads);
  fuse_loop_cfg_set_idle_threads(loop, threads);
  const int res = fuse_session_loop_mt(se_, loop);
  fuse_loop_cfg_destroy(loop);
  return res;
}

}  // namespace scopedfs
