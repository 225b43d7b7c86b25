// The state one mounted scopedfs serves from: the node table, the options and
// the counters. FUSE ops (daemon/fuse/) reach it through the request's
// userdata; nothing here knows about the FUSE wire protocol.
#ifndef SCOPEDFS_DAEMON_SERVER_H_
#define SCOPEDFS_DAEMON_SERVER_H_

#include <sys/stat.h>

#include <atomic>

#include "daemon/node_table.h"
#include "daemon/stats.h"

namespace scopedfs {

struct ServerOptions {
  bool passthrough = true;  // Ask the kernel for FUSE passthrough.
  double timeout = 1.0;     // Entry and attribute cache timeout, seconds.
};

class Server {
 public:
  Server(int root_fd, const struct stat& root_st, ServerOptions options)
      : nodes_(root_fd, root_st), options_(options) {}

  NodeTable& nodes() { return nodes_; }
  Stats& stats() { return stats_; }
  const ServerOptions& options() const { return options_; }

  // Set once in INIT: whether the kernel granted passthrough.
  bool passthrough_active() const { return passthrough_active_.load(); }
  void set_passthrough_active(bool on) { passthrough_active_ = on; }

 private:
  NodeTable nodes_;
  Stats stats_;
  const ServerOptions options_;
  std::atomic<bool> passthrough_active_{false};
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_SERVER_H_
