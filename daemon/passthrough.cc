#include "daemon/passthrough.h"

#include <errno.h>

#include <cstring>

#include "daemon/caller_creds.h"
#include "daemon/log.h"
#include "daemon/reflinked_views.h"

namespace scopedfs {
namespace {
int AcquireBackingIdLocked(fuse_req_t req, Node* node, int fd,
                           const struct stat& st, Stats& stats)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(node->mu);
int RegisterBackingLocked(fuse_req_t req, Node* node, int fd,
                          const struct stat& st, Stats& stats)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(node->mu);
void ReleaseBackingId(fuse_req_t req, Node* node, Stats& stats);
}  // namespace

OpenMode AcquireOpenMode(fuse_req_t req, Node* node, int fd,
                         const struct stat& st, bool writable,
                         bool passthrough_active, Stats& stats,
                         int* backing_id) {
  absl::MutexLock lock(&node->mu);
  const bool setid = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
  const bool want_passthrough =
      passthrough_active && node->daemon_opens == 0 &&
      (node->backing_refs > 0 || !setid);
  if (want_passthrough) {
    if (int id = AcquireBackingIdLocked(req, node, fd, st, stats); id > 0) {
      *backing_id = id;
      return OpenMode::kPassthrough;
    }
  }
  ++node->daemon_opens;
  if (writable) ++node->daemon_writers;
  *backing_id = 0;
  return OpenMode::kDaemon;
}

void ReleaseOpenMode(fuse_req_t req, Node* node, OpenMode mode, bool writable,
                     Stats& stats) {
  if (mode == OpenMode::kPassthrough) {
    ReleaseBackingId(req, node, stats);
    return;
  }
  absl::MutexLock lock(&node->mu);
  --node->daemon_opens;
  if (writable) --node->daemon_writers;
}

int AcquireCopyBacking(fuse_req_t req, Node* node,
                       const std::shared_ptr<const ViewCopy>& copy,
                       Stats& stats, int* backing_id) {
  absl::MutexLock lock(&node->mu);
  *backing_id = 0;
  if (node->daemon_opens > 0) return EAGAIN;
  if (node->backing_refs > 0) {
    if (node->backing_copy != copy) return ESTALE;
    ++node->backing_refs;
    *backing_id = node->backing_id;
    return 0;
  }
  // The copy is read-only and carries no set-id bits: nothing is ever
  // written through it.
  struct stat st = copy->version();
  st.st_mode &= ~(S_ISUID | S_ISGID);
  if (RegisterBackingLocked(req, node, copy->fd(), st, stats) <= 0) return EAGAIN;
  node->backing_copy = copy;
  ++node->backing_refs;
  *backing_id = node->backing_id;
  return 0;
}

std::shared_ptr<const ViewCopy> BackingCopyOf(const Node* node) {
  absl::MutexLock lock(&node->mu);
  return node->backing_refs > 0 ? node->backing_copy : nullptr;
}

bool BoundToOtherVersion(const Node* node, const struct stat& st) {
  const std::shared_ptr<const ViewCopy> copy = BackingCopyOf(node);
  return copy != nullptr && !copy->IsVersion(st);
}

bool HasDaemonWriter(Node* node) {
  absl::MutexLock lock(&node->mu);
  return node->daemon_writers > 0;
}

namespace {

int AcquireBackingIdLocked(fuse_req_t req, Node* node, int fd,
                           const struct stat& st, Stats& stats) {
  if (node->backing_refs == 0 && RegisterBackingLocked(req, node, fd, st, stats) <= 0) {
    return 0;
  }
  ++node->backing_refs;
  return node->backing_id;
}

// Registers `fd` as the node's backing file: its id, or 0 (errno set).
int RegisterBackingLocked(fuse_req_t req, Node* node, int fd,
                          const struct stat& st, Stats& stats) {
  int id;
  {
    // Supplementary groups matter to the kernel's passthrough I/O only
    // when it decides whether a write clears S_ISGID; spare reading them
    // (from /proc) for the other files.
    ScopedCallerCreds as_caller(req, /*with_groups=*/(st.st_mode & S_ISGID) != 0);
    if (as_caller.error() != 0) {
      errno = as_caller.error();
      return 0;
    }
    id = fuse_passthrough_open(req, fd);
  }
  if (id <= 0) {
    const int err = errno;
    Stats::Add(stats.backing_failures);
    SFS_LOG_EVERY_SEC(kWarning,
                      "kernel refused a passthrough backing file for inode "
                      "%lu:%lu: %s; serving it through the daemon",
                      node->dev, node->ino, std::strerror(err));
    errno = err;
    return 0;
  }
  node->backing_id = id;
  Stats::Add(stats.backing_registered);
  return id;
}

void ReleaseBackingId(fuse_req_t req, Node* node, Stats& stats) {
  absl::MutexLock lock(&node->mu);
  if (node->backing_refs <= 0) {
    SFS_LOG(kError, "backing id release without a reference on %lu:%lu",
            node->dev, node->ino);
    return;
  }
  if (--node->backing_refs > 0) return;
  if (fuse_passthrough_close(req, node->backing_id) != 0) {
    SFS_LOG_EVERY_SEC(kWarning, "closing backing id %d failed: %s",
                      node->backing_id, std::strerror(errno));
  }
  node->backing_id = 0;
  node->backing_copy.reset();
  Stats::Add(stats.backing_released);
}

}  // namespace

}  // namespace scopedfs
