#include "daemon/passthrough.h"

#include <errno.h>

#include <cstring>

#include "daemon/caller_creds.h"
#include "daemon/log.h"

namespace scopedfs {

int AcquireBackingId(fuse_req_t req, Node* node, int fd, Stats& stats) {
  absl::MutexLock lock(&node->mu);
  if (node->backing_refs == 0) {
    int id;
    {
      // fsuid/fsgid only: groups play no part in passthrough I/O.
      ScopedCallerCreds as_caller(req, /*with_groups=*/false);
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
  }
  ++node->backing_refs;
  return node->backing_id;
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
  Stats::Add(stats.backing_released);
}

}  // namespace scopedfs
