// What the admin calls that act on files share: the admin behind a call,
// resolving a path of the mount in the backing tree without following
// symlinks, and the audit event of an admin's change.
#ifndef SCOPEDFS_DAEMON_ADMIN_ADMIN_SUPPORT_H_
#define SCOPEDFS_DAEMON_ADMIN_ADMIN_SUPPORT_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "base/unique_fd.h"
#include "daemon/server.h"

namespace scopedfs::admin {

// The admin behind a call (for audit events).
struct AdminCaller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;    // 0: not a local process (the TLS endpoint)
  std::string where;   // For a remote admin: its address (the event's exe).
};

// The file an admin request is about: its directory (open), its name in
// it, and its status if it exists.
struct Resolved {
  UniqueFd dir;
  std::string name;
  bool exists = false;
  struct stat st = {};
};

// Walks `path` (valid: OwnerPathOf) from the backing root `root_fd`;
// every directory on the way must be one, not a symlink.
absl::StatusOr<Resolved> Resolve(int root_fd, const std::string& path);

// Hands the audit event of an admin's change (operation SETATTR, ALLOW,
// `rule_id` such as "admin:owner-set:UID") about `path` to the audit log.
void AuditAdminAction(Server* server, const AdminCaller& caller,
                      const std::string& path, std::string rule_id);

}  // namespace scopedfs::admin

#endif  // SCOPEDFS_DAEMON_ADMIN_ADMIN_SUPPORT_H_
