// Drops the kernel's caches of nodes (attributes and pages) and entries, from
// a thread of its own.
//
// A file with several names has a node per name (node_table.h), and when the
// daemon serves their I/O each has a page cache of its own in the kernel;
// after a change through one name, the others' pages must go
// (Server::NoteFileChanged). Not from the thread serving that change: the
// kernel drops a page only once it holds the page's lock, and a page of the
// other node may be locked by a request in flight (a write through that name,
// whose handler may itself be waiting to drop this node's pages, or for a
// free worker thread). This thread waits for nothing but the kernel, and no
// request waits for it, so every such wait ends: the drop follows the reply
// to the change by the time the kernel takes to do it.
//
// The same holds for a directory known in several trees (the shared mount and
// app views, daemon/app_views.h): a name made or removed through one leaves
// the others' entries and listings stale (Server::NoteNameChanged), and
// dropping them takes the other directory's lock, which a request in flight
// there may hold.
#ifndef SCOPEDFS_DAEMON_INODE_INVALIDATOR_H_
#define SCOPEDFS_DAEMON_INODE_INVALIDATOR_H_

#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "daemon/stats.h"

struct fuse_session;

namespace scopedfs {

class InodeInvalidator {
 public:
  // Serves `se` from now until destroyed, which must happen after the
  // request loop ended and before `se` is destroyed.
  InodeInvalidator(fuse_session* se, Stats* stats);
  // Sends what is queued, then stops.
  ~InodeInvalidator();
  InodeInvalidator(const InodeInvalidator&) = delete;
  InodeInvalidator& operator=(const InodeInvalidator&) = delete;

  // Queues a drop of node `id`'s attributes and pages (once, however often
  // it is queued before it is sent). An id the kernel has forgotten by then
  // is answered ENOENT, which is fine.
  void Invalidate(uint64_t id);
  // Queues a drop of the entry `name` under directory node `parent`, and of
  // that directory's attributes and cached listing.
  void InvalidateEntry(uint64_t parent, std::string name);

 private:
  void Loop();

  fuse_session* const se_;
  Stats* const stats_;
  absl::Mutex mu_;
  absl::flat_hash_set<uint64_t> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::pair<uint64_t, std::string>> pending_entries_
      ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_INODE_INVALIDATOR_H_
