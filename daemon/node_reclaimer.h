// Keeps the node table, and with it the daemon's descriptors, within bounds.
//
// Every node the kernel knows holds an O_PATH descriptor of its backing inode
// (node_table.h), and the kernel forgets nodes only when its dentry cache is
// shrunk under memory pressure. A client that walks a large tree (a media
// scanner opening every photo once) would leave one node per file behind
// and run the daemon out of descriptors: EMFILE for every client. So once the
// table holds more than `max_nodes`, this thread asks the kernel to drop the
// entries of the least recently looked-up files (FUSE_NOTIFY_INVAL_ENTRY)
// until it is back to 3/4 of that. The kernel then evicts their inodes and
// sends FORGET, which frees the nodes and their descriptors; a name needed
// again is simply looked up again. Files still open stay until closed.
//
// Kernel notifications must not come from a thread serving a request (the
// kernel may hold a lock that request's reply releases): hence a thread.
#ifndef SCOPEDFS_DAEMON_NODE_RECLAIMER_H_
#define SCOPEDFS_DAEMON_NODE_RECLAIMER_H_

#include <cstddef>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/node_table.h"
#include "daemon/stats.h"

struct fuse_session;

namespace scopedfs {

class NodeReclaimer {
 public:
  // Watches `nodes` (served through `se`) from now until destroyed, which
  // must happen before `se` is destroyed and after the request loop ended.
  NodeReclaimer(NodeTable* nodes, Stats* stats, fuse_session* se,
                size_t max_nodes);
  ~NodeReclaimer();
  NodeReclaimer(const NodeReclaimer&) = delete;
  NodeReclaimer& operator=(const NodeReclaimer&) = delete;

  // The default limit for a descriptor limit of `fd_limit`: half of it, as
  // every file a client holds open costs one more descriptor.
  static size_t DefaultMaxNodes(size_t fd_limit) { return fd_limit / 2; }

 private:
  void Wake();
  void Loop();
  // One pass; returns how many entries the kernel was asked to drop.
  size_t ReclaimOnce();

  NodeTable* const nodes_;
  Stats* const stats_;
  fuse_session* const se_;
  const size_t max_nodes_;
  const size_t target_nodes_;

  absl::Mutex mu_;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_NODE_RECLAIMER_H_
