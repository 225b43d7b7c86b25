#include "daemon/server.h"

#include <fuse_lowlevel.h>

#include "absl/strings/str_cat.h"
#include "daemon/log.h"

namespace scopedfs {

void Server::InvalidateAfterPolicyChange(fuse_session* se) {
  DropCaches(se, "policy changed");
}

void Server::InvalidateAfterOwnerChange() {
  DropCaches(session_, "owner store changed by an admin");
}

void Server::DropCaches(fuse_session* se, const char* why) {
  access_.Clear();
  if (se == nullptr) return;
  // Dentries first (names the kernel would resolve without asking): all at
  // once by bumping the kernel's epoch where it can (FUSE_NOTIFY_INC_EPOCH,
  // Linux 6.16), in every tree, else one by one. Then every directory's
  // attributes and cached listing.
  const std::vector<NodeTable::Entry> entries = nodes_.Snapshot();
  const bool epoch = fuse_lowlevel_notify_increment_epoch(se) == 0;
  if (epoch) {
    Stats::Add(stats_.kernel_epoch_bumps);
  } else {
    for (const NodeTable::Entry& e : entries) {
      // ENOENT/ENOTDIR only mean the kernel no longer has that dentry.
      fuse_lowlevel_notify_inval_entry(se, e.parent_id, e.name.c_str(),
                                       e.name.size());
    }
  }
  fuse_lowlevel_notify_inval_inode(se, FUSE_ROOT_ID, 0, 0);
  size_t dropped = 0;
  // Files open through the daemon: their cached pages (and mappings) must
  // not outlive an access the change removed, so their next read asks the
  // daemon, which checks it (revocation).
  std::vector<uint64_t> served;
  handles_.ForEach([&](const FileHandle& h) {
    if (h.revocable()) served.push_back(h.owner.node_id);
  });
  for (uint64_t id : served) {
    fuse_lowlevel_notify_inval_inode(se, id, 0, 0);
    ++dropped;
  }
  for (const NodeTable::Entry& e : entries) {
    // Directories: cached listings. Redacted views: their page cache holds
    // bytes redacted under the old policy's profile.
    if (e.is_dir || e.redacted_view) {
      fuse_lowlevel_notify_inval_inode(se, e.id, 0, 0);
      ++dropped;
    }
  }
  if (epoch) {
    SFS_LOG(kInfo, "%s: kernel epoch bumped (every name), dropped the "
                   "caches of %d directories and redacted views",
            why, dropped);
  } else {
    SFS_LOG(kInfo, "%s: dropped kernel caches for %d names", why,
            entries.size());
  }
}

void Server::NoteFileChanged(const Node* node) {
  if (node->redacted_view || node->type != S_IFREG) return;
  copies_.FileChanged(node->dev, node->ino);
  if (session_ == nullptr) return;
  // Only ids are used: if the kernel forgets a node meanwhile, it answers
  // ENOENT and nothing happens.
  const uint64_t self = nodes_.IdOf(node);
  for (const NodeTable::NodeRef& other : nodes_.NodesOf(node->dev, node->ino)) {
    if (other.id == self) continue;
    // Over io_uring a request is served on its ring's thread, and the read
    // holding a view's page locked may wait in this very ring: dropping
    // the pages here would wait for it forever. The invalidator waits for
    // nothing else.
    if (other.redacted_view && !io_uring_active()) {
      fuse_lowlevel_notify_inval_inode(session_, other.id, 0, 0);
    } else if (invalidator_ != nullptr) {
      invalidator_->Invalidate(other.id);
    }
  }
}

void Server::RenewRedactedView(Node* node) {
  nodes_.Retire(node);
  Stats::Add(stats_.redacted_view_renewals);
}

void Server::NoteNameChanged(const Node* dir, absl::string_view name) {
  if (invalidator_ == nullptr || !nodes_.HasAppViews()) return;
  const uint64_t self = nodes_.IdOf(dir);
  for (const NodeTable::NodeRef& other : nodes_.NodesOf(dir->dev, dir->ino)) {
    if (other.id != self) invalidator_->InvalidateEntry(other.id, std::string(name));
  }
}

void Server::NoteLinkCountChanged(const Node* node) {
  if (session_ == nullptr) return;
  for (const NodeTable::NodeRef& known : nodes_.NodesOf(node->dev, node->ino)) {
    fuse_lowlevel_notify_inval_inode(session_, known.id, -1, 0);
  }
}

std::string RenderStats(const Server& server, uint64_t sequence) {
  std::string out = absl::StrCat("sequence ", sequence, "\n");
  server.ForEachCounter([&out](const std::string& name, uint64_t value, bool) {
    absl::StrAppend(&out, name, " ", value, "\n");
  });
  return out;
}

void Server::ForEachCounter(
    const std::function<void(const std::string&, uint64_t, bool)>& fn) const {
  stats_.ForEach(nodes_.size(), fn);
  fn("nodes_per_name", nodes_.per_name_size(), true);
  fn("transport_io_uring", io_uring_active() ? 1 : 0, true);
  fn("redacted_copies_live", static_cast<uint64_t>(copies_.live()), true);
  if (audit_ == nullptr) return;
  const audit::AuditLog::Counters a = audit_->counters();
  fn("audit_events_submitted", a.submitted, false);
  fn("audit_events_stored", a.stored, false);
  fn("audit_events_unstored", a.unstored_by_rule, false);
  fn("audit_events_dropped{reason=\"queue_full\"}", a.dropped_queue_full, false);
  fn("audit_events_dropped{reason=\"db_error\"}", a.dropped_db_error, false);
  fn("audit_batches", a.batches, false);
  fn("audit_retention_deleted", a.retention_deleted, false);
  fn("audit_queue_depth", a.queue_depth, true);
  fn("audit_owner_changes_pending", a.owner_changes_pending, true);
  fn("owners", a.owners, true);
  fn("audit_db_live_bytes", a.db_live_bytes, true);
  fn("audit_db_file_bytes", a.db_file_bytes, true);
}

}  // namespace scopedfs
