// The state one mounted scopedfs serves from: the node table, the policy and
// its mediator, the options and the counters. FUSE ops (daemon/fuse/) reach it
// through the request's userdata.
#ifndef SCOPEDFS_DAEMON_SERVER_H_
#define SCOPEDFS_DAEMON_SERVER_H_

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "daemon/access.h"
#include "daemon/open_handles.h"
#include "daemon/inode_invalidator.h"
#include "daemon/node_table.h"
#include "daemon/policy_store.h"
#include "daemon/reflinked_views.h"
#include "daemon/stats.h"

struct fuse_session;

namespace scopedfs {

struct ServerOptions {
  bool passthrough = true;  // Ask the kernel for FUSE passthrough.
  double timeout = 1.0;     // Entry and attribute cache timeout, seconds.
  bool io_uring = false;    // Ask the kernel for fuse-over-io-uring in INIT.
  // Reflinked copies for redacted views (daemon/reflinked_views.h); 0: off.
  uint64_t max_reflink_views = 0;
  // -o strictatime (daemon/source_tree.h): every read and listing stamps
  // the access time, so none may be answered from the kernel's caches
  // without reaching SOURCE (passthrough reads always do).
  bool stamp_every_access = false;
};

class Server {
 public:
  Server(int root_fd, const struct stat& root_st, ServerOptions options,
         PolicyStore* policy)
      : nodes_(root_fd, root_st),
        options_(options),
        policy_(policy),
        access_(policy, &nodes_, &stats_),
        copies_(nodes_.Root()->fd, options.max_reflink_views, &stats_) {}

  NodeTable& nodes() { return nodes_; }
  PolicyStore& policy() { return *policy_; }
  AccessMediator& access() { return access_; }
  OpenHandles& handles() { return handles_; }
  ReflinkedViews& copies() { return copies_; }
  Stats& stats() { return stats_; }
  const ServerOptions& options() const { return options_; }

  // The audit log and owner store (null: none); see AccessMediator.
  void set_audit_log(audit::AuditLog* log, bool store_events) {
    audit_ = log;
    access_.set_audit_log(log, store_events);
  }
  audit::AuditLog* audit_log() const { return audit_; }

  // Every counter and gauge of this mount (requests, decisions, audit log),
  // by name: what GetStats and the SIGUSR1 dump report.
  void ForEachCounter(
      const std::function<void(const std::string& name, uint64_t value,
                               bool gauge)>& fn) const;

  // Set once in INIT: whether requests come over io_uring.
  bool io_uring_active() const { return io_uring_active_.load(); }
  void set_io_uring_active(bool on) { io_uring_active_ = on; }

  // Set once in INIT: whether the kernel granted passthrough.
  bool passthrough_active() const { return passthrough_active_.load(); }
  void set_passthrough_active(bool on) { passthrough_active_ = on; }

  // After a policy change: forget cached decisions and make the kernel drop
  // every dentry and listing it cached under the old policy, so a newly
  // hidden name disappears and a newly visible one appears at once. Open
  // files keep working: a policy decides opens, not the I/O of open files.
  void InvalidateAfterPolicyChange(fuse_session* se);

  // After an admin changed the owner store by hand (scopedctl owner set,
  // clear): cached decisions and kernel entries may reflect the old owner,
  // and no name change renews them. The same as after a policy change.
  void InvalidateAfterOwnerChange();

  // The session, for notifications sent while serving. Set before the
  // mount serves.
  void set_session(fuse_session* se) { session_ = se; }

  // After the file `node` may have changed through the mount (a writer's
  // flush or release, a truncate, a write, fallocate or copy served by the
  // daemon), the kernel drops what it cached of the file under its other
  // node ids:
  //   - its redacted views' pages, at once, so readers of a view read the
  //     new version, redacted by its own plan. (Their cached pages were
  //     redacted versions of the old one: stale, never unredacted.) No
  //     request holds a view's pages locked for long: views are read-only.
  //   - the attributes and pages of its other names' nodes (a file with
  //     several links, node_table.h), from the invalidator's thread right
  //     after (inode_invalidator.h says why not here), so a mapping through
  //     another name shows what was written through this one.
  //   - its kept reflinked copies (ReflinkedViews::FileChanged), so they
  //     stop pinning the old version's blocks.
  void NoteFileChanged(const Node* node);

  // The redacted view `node` is bound to a reflinked copy that cannot serve
  // the file as it is now (another version or profile): no lookup finds it
  // any more, the name gets a new node (daemon/reflinked_views.h). Counted
  // as redacted_view_renewals.
  void RenewRedactedView(Node* node);

  // After a link through the mount made the file `node` another name: the
  // kernel drops the attributes it cached of the file's nodes, at once (no
  // page is touched, so nothing to wait for). It refreshes only the node its
  // reply names, and the new name's is another; a node whose attributes
  // were cached when the file had one link would show st_nlink 1 until
  // they expire. (Nodes of a file with several names cache none.)
  void NoteLinkCountChanged(const Node* node);

  // After `name` under the directory `dir` was made, removed or renamed
  // through the mount: the kernel drops that entry, and the directory's
  // cached listing and attributes, in every other tree that knows the
  // directory (the shared mount, app views: daemon/app_views.h), from the
  // invalidator's thread right after. The tree the change came through is
  // kept up to date by the kernel itself.
  void NoteNameChanged(const Node* dir, absl::string_view name);

  // The invalidator NoteFileChanged hands other names' nodes to; set before
  // the request loop starts, reset (null) after it ended.
  void set_invalidator(InodeInvalidator* invalidator) {
    invalidator_ = invalidator;
  }

 private:
  // Forgets cached decisions and drops the kernel's (see
  // InvalidateAfterPolicyChange); `why` for the log line.
  void DropCaches(fuse_session* se, const char* why);
  NodeTable nodes_;
  Stats stats_;
  const ServerOptions options_;
  PolicyStore* const policy_;
  AccessMediator access_;
  ReflinkedViews copies_;  // Before handles_ and after nodes_: both hold copies.
  OpenHandles handles_;  // After nodes_: freed first (handles hold no node).
  audit::AuditLog* audit_ = nullptr;
  std::atomic<bool> passthrough_active_{false};
  std::atomic<bool> io_uring_active_{false};
  fuse_session* session_ = nullptr;
  InodeInvalidator* invalidator_ = nullptr;
};

// "name value" lines (sequence first), for the SIGUSR1 dump.
std::string RenderStats(const Server& server, uint64_t sequence);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_SERVER_H_
