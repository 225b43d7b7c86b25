// `scopedctl owner get|set|clear`: the owner store by hand, for the Admin
// service (GetOwner, SetOwner, ClearOwner in admin.proto). Ownership moves
// only by the creating caller (AccessMediator::NoteCreated) or by these
// calls, each of which is audited.
//
// A path is resolved in the backing dir from its root one component at a
// time: each directory is opened O_PATH|O_NOFOLLOW|O_DIRECTORY from the one
// before, so a symlink (or a rename racing the walk) never leads anywhere
// but the tree the mount serves; the file itself is looked at without
// following a symlink (a symlink can be owned, like any name). The record a
// set makes is the one NoteCreated makes (OwnerRecordFor).
#ifndef SCOPEDFS_DAEMON_ADMIN_OWNER_ADMIN_H_
#define SCOPEDFS_DAEMON_ADMIN_OWNER_ADMIN_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/admin/admin_support.h"
#include "daemon/server.h"
#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::admin {

// Who made an owner change, for its audit event.

class OwnerAdmin {
 public:
  explicit OwnerAdmin(Server* server) : server_(server) {}

  absl::StatusOr<v1::GetOwnerResponse> Get(const v1::GetOwnerRequest& request);
  absl::StatusOr<v1::SetOwnerResponse> Set(const v1::SetOwnerRequest& request,
                                           const AdminCaller& caller);
  absl::StatusOr<v1::ClearOwnerResponse> Clear(
      const v1::ClearOwnerRequest& request, const AdminCaller& caller);

 private:
  Server* const server_;
};

}  // namespace scopedfs::admin

#endif  // SCOPEDFS_DAEMON_ADMIN_OWNER_ADMIN_H_
