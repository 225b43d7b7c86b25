// Kernel passthrough backing ids, one per inode.
//
// The kernel allows exactly one backing file per FUSE inode: once an inode has
// a passthrough open, every further open must carry the same backing id, or
// the client's open() fails with EIO. So the id lives on the Node, is
// registered (FUSE_DEV_IOC_BACKING_OPEN) on the first open, shared by every
// later one, counted, and closed on the last release.
//
// The id is registered under the opener's fsuid/fsgid: the kernel keeps the
// registering thread's credentials for all passthrough I/O on the inode, and
// those must not carry root's CAP_FSETID (a non-owner's write has to clear
// set-user-ID, as on the backing file system).
#ifndef SCOPEDFS_DAEMON_PASSTHROUGH_H_
#define SCOPEDFS_DAEMON_PASSTHROUGH_H_

#include <fuse_lowlevel.h>

#include "daemon/node_table.h"
#include "daemon/stats.h"

namespace scopedfs {

// Returns the node's backing id, registering `fd` if the node has none, and
// counts one reference. Returns 0 if the kernel refused (errno set).
int AcquireBackingId(fuse_req_t req, Node* node, int fd, Stats& stats);

// Drops one reference; closes the id with the kernel on the last one.
void ReleaseBackingId(fuse_req_t req, Node* node, Stats& stats);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_PASSTHROUGH_H_
