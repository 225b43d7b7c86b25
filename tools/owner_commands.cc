#include "tools/owner_commands.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/escape.h"
#include "tools/output.h"

namespace scopedfs::tools {
namespace {

std::string TimeOf(int64_t unix_nanos) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixNanos(unix_nanos),
                          absl::UTCTimeZone());
}

std::string OwnerOf(const v1::OwnerRecord& o) {
  return absl::StrCat("uid ", o.uid(), o.app().empty() ? "" : " (app " + Safe(o.app()) + ")");
}

// The rows of one record.
void AddRecord(Table* table, const v1::OwnerRecord& o) {
  table->AddRow({"owner", absl::StrCat("uid ", o.uid())});
  table->AddRow({"app", o.app().empty() ? "-" : Safe(o.app())});
  table->AddRow({"recorded", TimeOf(o.time_unix_nanos())});
  table->AddRow({"inode", absl::StrCat(o.dev(), ":", o.ino(), o.birth_unix_nanos() == 0
                                                                  ? " (no birth time)"
                                                                  : " (born " +
                                                                        TimeOf(o.birth_unix_nanos()) +
                                                                        ")")});
}

// PATH as the daemon takes it: relative to the mount root (a full path
// under the mountpoint is made so; the daemon refuses other absolute
// paths), control characters and bytes that are not UTF-8 escaped.
bool WirePath(AdminClient& client, const std::string& path, std::string* wire) {
  std::string relative = path;
  if (!MountRelative(client, &relative)) return false;
  *wire = audit::EscapeControls(relative);
  return true;
}

}  // namespace

int OwnerGet(AdminClient& client, const OutputOptions& out, const std::string& path) {
  v1::GetOwnerRequest request;
  if (!WirePath(client, path, request.mutable_path())) return kExitFailure;
  v1::GetOwnerResponse response;
  if (grpc::Status st = client.GetOwner(request, &response); !st.ok()) {
    return Fail(client.Describe(st, "GetOwner"));
  }
  if (out.json) {
    response.set_path(Safe(response.path()));
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  Table table;
  table.AddRow({"path", Safe(response.path())});
  if (response.has_owner()) {
    AddRecord(&table, response.owner());
  } else {
    table.AddRow({"owner", "none"});
  }
  Print(table.Render());
  return kExitOk;
}

int OwnerSet(AdminClient& client, const OutputOptions& out, const std::string& path,
             uint32_t uid, std::optional<uint32_t> gid) {
  v1::SetOwnerRequest request;
  if (!WirePath(client, path, request.mutable_path())) return kExitFailure;
  request.set_uid(uid);
  if (gid.has_value()) request.set_gid(*gid);
  v1::SetOwnerResponse response;
  if (grpc::Status st = client.SetOwner(request, &response); !st.ok()) {
    return Fail(client.Describe(st, "SetOwner"));
  }
  if (out.json) {
    response.set_path(Safe(response.path()));
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  Table table;
  table.AddRow({"path", Safe(response.path())});
  AddRecord(&table, response.owner());
  table.AddRow({"previous", response.has_previous() ? OwnerOf(response.previous()) : "none"});
  Print(table.Render());
  return kExitOk;
}

int OwnerClear(AdminClient& client, const OutputOptions& out, const std::string& path) {
  v1::ClearOwnerRequest request;
  if (!WirePath(client, path, request.mutable_path())) return kExitFailure;
  v1::ClearOwnerResponse response;
  if (grpc::Status st = client.ClearOwner(request, &response); !st.ok()) {
    return Fail(client.Describe(st, "ClearOwner"));
  }
  if (out.json) {
    response.set_path(Safe(response.path()));
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  Table table;
  table.AddRow({"path", Safe(response.path())});
  table.AddRow({"owner", "none"});
  table.AddRow({"previous", response.has_previous() ? OwnerOf(response.previous()) : "none"});
  if (!response.file_exists()) table.AddRow({"file", "none at this path"});
  Print(table.Render());
  return kExitOk;
}

}  // namespace scopedfs::tools
