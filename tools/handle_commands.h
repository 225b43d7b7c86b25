// `scopedctl handles`: the files open through the mount (the daemon's
// ListHandles); and how the commands that take access away (policy apply,
// revoke) report the open handles they hit.
#ifndef SCOPEDFS_TOOLS_HANDLE_COMMANDS_H_
#define SCOPEDFS_TOOLS_HANDLE_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "google/protobuf/repeated_ptr_field.h"
#include "scopedfs/v1/admin.pb.h"
#include "tools/client.h"
#include "tools/commands.h"

namespace scopedfs::tools {

struct HandlesArgs {
  std::string app;              // Empty: any app.
  std::optional<uint32_t> uid;  // Unset: any uid.
  // Empty: anywhere; else this path and everything below it, relative to
  // the mount root (a full path under the mountpoint works too).
  std::string path;
};
// `handles [--app=A] [--uid=U] [--path=P]`: one row per open handle.
int Handles(AdminClient& client, const OutputOptions& out, const HandlesArgs& args);

// The handle's strings (comm, app, path, served_by) made safe for a
// terminal; for tables and --json alike.
void MakeDisplayable(v1::Handle* handle);

// "pid 4242 (gallery) uid 10123 app gallery path DCIM/a.jpg" (pass the
// handle through MakeDisplayable first).
std::string DescribeHandle(const v1::Handle& handle);

using HandleList = google::protobuf::RepeatedPtrField<v1::Handle>;

// The lines that report a change of access: "revoked N open handles"; with
// `list_revoked` one "revoked: HANDLE" line per revoked handle; then one
// "kept open (passthrough, not revocable): HANDLE" line per handle the
// daemon could not revoke (it keeps an access the change removed).
std::string HandleChangesText(const OutputOptions& out, const HandleList& revoked,
                              const HandleList& unrevocable, bool list_revoked);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_HANDLE_COMMANDS_H_
