// Open handles for admins: what `scopedctl handles` lists, and which open
// handles a policy or grant change takes an access from (revocation).
//
// What a revocation guarantees (README, "Revocation"): a handle whose I/O
// the daemon serves (a redacted view served by the daemon, a file opened
// without passthrough, an O_DIRECT open without passthrough) answers EACCES
// to its first read or write after the change that removed its access, and
// to every one after; the kernel's cached pages and mappings of such files
// are dropped at the change, so they cannot serve it either. A handle the
// kernel serves by passthrough never asks the daemon again: it is listed as
// not revocable, and `policy apply --revoke` refuses a change that would
// leave one with an access it removes.
#ifndef SCOPEDFS_DAEMON_ADMIN_HANDLE_ADMIN_H_
#define SCOPEDFS_DAEMON_ADMIN_HANDLE_ADMIN_H_

#include <string>
#include <vector>

#include "daemon/policy_store.h"
#include "daemon/server.h"
#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::admin {

// Every open handle that matches `filter`, oldest first.
v1::ListHandlesResponse ListHandles(Server& server,
                                    const v1::ListHandlesRequest& filter);

// The open handles whose access `next` would remove.
struct LosingHandles {
  std::vector<v1::Handle> revocable;
  std::vector<v1::Handle> unrevocable;
};
LosingHandles HandlesLosingAccess(Server& server, const policy::Engine& next);

// A PolicyStore::Check that fills `*out` with the handles the change takes
// an access from, and with `refuse_unrevocable` refuses the change
// (FAILED_PRECONDITION naming them) when a passthrough one is among them.
PolicyStore::Check RevocationCheck(Server* server, bool refuse_unrevocable,
                                   LosingHandles* out);

// "pid 123 (cat), uid 1001, app gallery: read DCIM/a.jpg".
std::string DescribeHandle(const v1::Handle& h);

}  // namespace scopedfs::admin

#endif  // SCOPEDFS_DAEMON_ADMIN_HANDLE_ADMIN_H_
