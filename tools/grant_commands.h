// `scopedctl grant`, `revoke` and `grants`: time-limited exceptions for one
// app or uid on one file or directory (the daemon's AddGrant, RevokeGrant
// and ListGrants). The daemon decides grants before the policy's rules and
// audits every change.
#ifndef SCOPEDFS_TOOLS_GRANT_COMMANDS_H_
#define SCOPEDFS_TOOLS_GRANT_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "scopedfs/v1/admin.pb.h"
#include "tools/client.h"
#include "tools/commands.h"

namespace scopedfs::tools {

struct GrantArgs {
  // Who: exactly one.
  std::optional<std::string> app;
  std::optional<uint32_t> uid;
  // Relative to the mount root, or a full path under the mountpoint.
  std::string path;
  std::vector<v1::Operation> operations;  // Empty: read.
  uint64_t duration_seconds = 0;          // 0: until revoked.
  bool redacted = false;
  std::string profile;  // With `redacted`; empty: the strict allowlist.
};
// `grant (APP | --uid=UID) PATH ...`: adds the grant, prints it and the new
// generation.
int GrantAdd(AdminClient& client, const OutputOptions& out, const GrantArgs& args);

// `revoke ID`: removes the grant; prints it, the new generation and the open
// handles that lost their access (revoked, or kept open by the kernel).
int GrantRevoke(AdminClient& client, const OutputOptions& out, const std::string& id);

// `grants`: one row per grant in force.
int GrantsList(AdminClient& client, const OutputOptions& out);

// --ops: "read,write" (case-insensitive, duplicates dropped) -> READ, WRITE.
// InvalidArgument with a one-line message for an empty or unknown name, and
// for lookup (every grant implies it).
absl::StatusOr<std::vector<v1::Operation>> ParseGrantOperations(absl::string_view list);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_GRANT_COMMANDS_H_
