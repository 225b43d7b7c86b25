// `scopedctl owner get|set|clear PATH`: the owner store by hand (the
// daemon's GetOwner, SetOwner and ClearOwner). PATH is relative to the mount
// root (a full path under the mountpoint works too), in the escaped form the
// audit trail shows names in (a raw name works too, but a backslash must be
// written \\).
#ifndef SCOPEDFS_TOOLS_OWNER_COMMANDS_H_
#define SCOPEDFS_TOOLS_OWNER_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "tools/client.h"
#include "tools/commands.h"

namespace scopedfs::tools {

// `owner get PATH`: the record (uid, app, when, inode), or "none".
int OwnerGet(AdminClient& client, const OutputOptions& out, const std::string& path);
// `owner set PATH --uid=U [--gid=G]`: U (and its app) owns the file now at
// PATH; `gid` picks the app where the policy names apps by gid.
int OwnerSet(AdminClient& client, const OutputOptions& out, const std::string& path,
             uint32_t uid, std::optional<uint32_t> gid);
// `owner clear PATH`: the file at PATH is owned by nobody.
int OwnerClear(AdminClient& client, const OutputOptions& out, const std::string& path);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_OWNER_COMMANDS_H_
