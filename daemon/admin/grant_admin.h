// Grants by hand (scopedctl grant, revoke, grants) and their expiry: each
// is checked against the backing tree (the path must be a file or a
// directory there, reached without symlinks), stored by the PolicyStore
// (policy/grants.h says what it allows) and audited with rule_id
// "admin:grant-add:ID", "admin:grant-revoke:ID" or "admin:grant-expired:ID"
// on the grant's path.
#ifndef SCOPEDFS_DAEMON_ADMIN_GRANT_ADMIN_H_
#define SCOPEDFS_DAEMON_ADMIN_GRANT_ADMIN_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "daemon/admin/admin_support.h"
#include "daemon/policy_store.h"
#include "daemon/server.h"
#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::admin {

absl::StatusOr<v1::AddGrantResponse> AddGrant(Server* server,
                                              const v1::AddGrantRequest& request,
                                              const AdminCaller& caller);
// Also says which open handles lost their access with the grant.
absl::StatusOr<v1::RevokeGrantResponse> RevokeGrant(
    Server* server, const v1::RevokeGrantRequest& request,
    const AdminCaller& caller);

// Removes the grants expired by now and audits each; the handles that
// lost their access are revoked like after a revoke. Returns how many.
size_t ExpireGrants(Server* server);

}  // namespace scopedfs::admin

#endif  // SCOPEDFS_DAEMON_ADMIN_GRANT_ADMIN_H_
