#include "daemon/caller_creds.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "daemon/log.h"

namespace scopedfs {
namespace {

// Upper bound on supplementary groups we pass on (NGROUPS_MAX is 65536; real
// callers have a handful, and fuse_req_getgroups tells us the real count).
constexpr int kMaxGroups = 4096;

int SetThreadGroups(const std::vector<gid_t>& groups) {
  return syscall(SYS_setgroups, groups.size(), groups.data()) == 0 ? 0 : errno;
}

}  // namespace

CallerIdentity IdentityOf(fuse_req* req, bool with_groups) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  CallerIdentity who;
  who.uid = ctx->uid;
  who.gid = ctx->gid;
  who.pid = ctx->pid;
  if (with_groups && ctx->pid > 0) {
    who.groups.resize(32);
    int n = fuse_req_getgroups(req, who.groups.size(), who.groups.data());
    if (n > static_cast<int>(who.groups.size()) && n <= kMaxGroups) {
      who.groups.resize(n);
      n = fuse_req_getgroups(req, who.groups.size(), who.groups.data());
    }
    // On failure (the caller already exited) act with no supplementary
    // groups: that can only deny more, never allow more.
    who.groups.resize(n > 0 ? std::min<int>(n, who.groups.size()) : 0);
  }
  return who;
}

ScopedCallerCreds::ScopedCallerCreds(fuse_req* req, bool with_groups,
                                     bool with_umask) {
  if (with_umask) {
    // Once per thread: from now on umask() changes this thread only.
    thread_local const bool own_fs_struct = unshare(CLONE_FS) == 0;
    if (!own_fs_struct) {
      error_ = EPERM;
      return;
    }
    umask(fuse_req_ctx(req)->umask);
    umask_switched_ = true;
  }
  if (fuse_req_ctx(req)->uid == 0 && fuse_req_ctx(req)->gid == 0) return;
  Switch(IdentityOf(req, with_groups));
}

ScopedCallerCreds::ScopedCallerCreds(const CallerIdentity& who) {
  if (who.uid == 0 && who.gid == 0) return;
  Switch(who);
}

void ScopedCallerCreds::Switch(const CallerIdentity& who) {
  // Order: groups and gid first, uid last, so no step runs with a mix that
  // grants more than either the daemon or the caller has.
  long n = syscall(SYS_getgroups, 0, nullptr);
  if (n >= 0) {
    saved_groups_.resize(n);
    n = syscall(SYS_getgroups, saved_groups_.size(), saved_groups_.data());
  }
  if (n < 0) {
    error_ = errno;
    return;
  }
  saved_groups_.resize(n);
  if (int err = SetThreadGroups(who.groups); err != 0) {
    error_ = err;
    return;
  }
  groups_switched_ = true;
  setfsgid(who.gid);
  setfsuid(who.uid);
  // setfsuid/setfsgid report the previous id, not failure: verify.
  if (static_cast<uid_t>(setfsuid(-1)) != who.uid ||
      static_cast<gid_t>(setfsgid(-1)) != who.gid) {
    error_ = EPERM;
  }
  switched_ = true;
}

ScopedCallerCreds::~ScopedCallerCreds() {
  if (umask_switched_) umask(0);
  if (switched_) {
    setfsuid(0);
    setfsgid(0);
  }
  if (groups_switched_) {
    if (SetThreadGroups(saved_groups_) != 0) {
      SFS_LOG(kError, "cannot restore the thread's groups: %s", strerror(errno));
      abort();  // Never serve the next request with a caller's groups.
    }
  }
}

}  // namespace scopedfs
