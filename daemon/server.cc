#include "daemon/server.h"

#include <fuse_lowlevel.h>

#include "daemon/log.h"

namespace scopedfs {

void Server::InvalidateAfterPolicyChange(fuse_session* se) {
  access_.Clear();
  if (se == nullptr) return;
  // Dentries first (names the kernel would resolve without asking), then
  // every directory's attributes and cached listing.
  const std::vector<NodeTable::Entry> entries = nodes_.Snapshot();
  for (const NodeTable::Entry& e : entries) {
    // ENOENT/ENOTDIR only mean the kernel no longer has that dentry.
    fuse_lowlevel_notify_inval_entry(se, e.parent_id, e.name.c_str(),
                                     e.name.size());
  }
  fuse_lowlevel_notify_inval_inode(se, FUSE_ROOT_ID, 0, 0);
  for (const NodeTable::Entry& e : entries) {
    // Directories: cached listings. Redacted views: their page cache holds
    // bytes redacted under the old policy's profile.
    if (e.is_dir || e.redacted_view) {
      fuse_lowlevel_notify_inval_inode(se, e.id, 0, 0);
    }
  }
  SFS_LOG(kInfo, "policy changed: dropped kernel caches for %d names",
          entries.size());
}

}  // namespace scopedfs
