// Kernel passthrough backing ids, one per FUSE inode (node).
//
// The kernel allows exactly one backing file per FUSE inode: once an inode has
// a passthrough open, every further open must carry the same backing id, or
// the client's open() fails with EIO. So the id lives on the Node, is
// registered (FUSE_DEV_IOC_BACKING_OPEN) on the first open, shared by every
// later one, counted, and closed on the last release. Several nodes of one
// backing file (the names of a hard-linked file, node_table.h) each register
// their own id; all of them lead to the same backing inode, whose page cache
// serves reads, writes and mmap through every name alike.
//
// The id is registered under the opener's fsuid/fsgid: the kernel keeps the
// registering thread's credentials for all passthrough I/O on the inode, and
// those must not carry root's CAP_FSETID (a non-owner's write has to clear
// set-user-ID, as on the backing file system).
#ifndef SCOPEDFS_DAEMON_PASSTHROUGH_H_
#define SCOPEDFS_DAEMON_PASSTHROUGH_H_

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <memory>

#include "daemon/node_table.h"
#include "daemon/stats.h"

namespace scopedfs {

// How one open of a node is served.
enum class OpenMode {
  kPassthrough,  // Holds a reference on the node's backing id (returned).
  kDaemon,       // Read/write come to the daemon; counted in daemon_opens.
};

// Chooses the mode of a new open and takes its reference: passthrough
// whenever the kernel grants it, the node has no daemon-served open, and
// the file is not set-user/group-ID (writes to those must clear the bits
// for each writer by its own identity, which one shared backing file
// cannot do). `st` is the file's current status. Sets *backing_id.
OpenMode AcquireOpenMode(fuse_req_t req, Node* node, int fd,
                         const struct stat& st, bool writable,
                         bool passthrough_active, Stats& stats,
                         int* backing_id);

// Serves an open of a redacted view's node through passthrough over `copy`
// (daemon/reflinked_views.h): the node's backing id is registered on the
// copy by its first open and shared by later opens of the same copy.
// Returns 0 and sets *backing_id; ESTALE when the node's backing is another
// copy (the kernel allows one backing file per inode while any is open);
// EAGAIN when the node has daemon-served opens or the kernel refused (the
// daemon serves this open). The release is ReleaseOpenMode's.
int AcquireCopyBacking(fuse_req_t req, Node* node,
                       const std::shared_ptr<const ViewCopy>& copy,
                       Stats& stats, int* backing_id);

// The copy the node's backing id is registered on, if any.
std::shared_ptr<const ViewCopy> BackingCopyOf(const Node* node);

// Whether the node is bound to a copy of another version of its file than
// `st` shows: no open of it can show that version (AcquireCopyBacking would
// answer ESTALE), so lookups and opens retire it (NodeTable::Retire).
bool BoundToOtherVersion(const Node* node, const struct stat& st);

// Drops the reference an open took; the last passthrough one closes the
// backing id with the kernel.
void ReleaseOpenMode(fuse_req_t req, Node* node, OpenMode mode,
                     bool writable, Stats& stats);

// Whether the node has a daemon-served open for writing.
bool HasDaemonWriter(Node* node);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_PASSTHROUGH_H_
