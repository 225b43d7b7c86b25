#include "tools/owner_commands.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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

}  // namespace

namespace {

// Sends a request with `call` (for `rpc`'s errors) and prints the answer:
// JSON, or a table starting with its path that `fill` completes.
template <typename Response, typename Call, typename Fill>
int Answer(AdminClient& client, const OutputOptions& out, const char* rpc,
           Call call, Fill fill) {
  Response response;
  if (grpc::Status st = call(&response); !st.ok()) {
    return Fail(client.Describe(st, rpc));
  }
  if (out.json) {
    response.set_path(Safe(response.path()));
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  Table table;
  table.AddRow({"path", Safe(response.path())});
  fill(response, &table);
  Print(table.Render());
  return kExitOk;
}

std::string PreviousOf(bool has_previous, const v1::OwnerRecord& previous) {
  return has_previous ? OwnerOf(previous) : "none";
}

}  // namespace

int OwnerGet(AdminClient& client, const OutputOptions& out, const std::string& path) {
  v1::GetOwnerRequest request;
  if (!WirePath(client, path, request.mutable_path())) return kExitFailure;
  return Answer<v1::GetOwnerResponse>(
      client, out, "GetOwner",
      [&](v1::GetOwnerResponse* r) { return client.GetOwner(request, r); },
      [](const v1::GetOwnerResponse& r, Table* table) {
        if (r.has_owner()) {
          AddRecord(table, r.owner());
        } else {
          table->AddRow({"owner", "none"});
        }
      });
}

int OwnerSet(AdminClient& client, const OutputOptions& out, const std::string& path,
             uint32_t uid, std::optional<uint32_t> gid) {
  v1::SetOwnerRequest request;
  if (!WirePath(client, path, request.mutable_path())) return kExitFailure;
  request.set_uid(uid);
  if (gid.has_value()) request.set_gid(*gid);
  return Answer<v1::SetOwnerResponse>(
      client, out, "SetOwner",
      [&](v1::SetOwnerResponse* r) { return client.SetOwner(request, r); },
      [](const v1::SetOwnerResponse& r, Table* table) {
        AddRecord(table, r.owner());
        table->AddRow({"previous", PreviousOf(r.has_previous(), r.previous())});
      });
}

int OwnerClear(AdminClient& client, const OutputOptions& out, const std::string& path) {
  v1::ClearOwnerRequest request;
  if (!WirePath(client, path, request.mutable_path())) return kExitFailure;
  return Answer<v1::ClearOwnerResponse>(
      client, out, "ClearOwner",
      [&](v1::ClearOwnerResponse* r) { return client.ClearOwner(request, r); },
      [](const v1::ClearOwnerResponse& r, Table* table) {
        table->AddRow({"owner", "none"});
        table->AddRow({"previous", PreviousOf(r.has_previous(), r.previous())});
        if (!r.file_exists()) table->AddRow({"file", "none at this path"});
      });
}

}  // namespace scopedfs::tools
