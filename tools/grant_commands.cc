#include "tools/grant_commands.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/handle_commands.h"
#include "tools/output.h"

namespace scopedfs::tools {
namespace {

// The grant's strings made safe for a terminal (tables and --json).
void MakeDisplayable(v1::Grant* g) {
  for (std::string* s : {g->mutable_id(), g->mutable_path(), g->mutable_redaction_profile()}) {
    *s = Safe(*s);
  }
  if (g->has_app()) g->set_app(Safe(g->app()));
}

std::string WhoOf(const v1::Grant& g) {
  switch (g.who_case()) {
    case v1::Grant::kApp: return "app " + g.app();
    case v1::Grant::kUid: return absl::StrCat("uid ", g.uid());
    default: return "-";
  }
}

// A directory's grant covers what is below it: shown with a trailing '/'
// (the root directory as "/").
std::string PathOf(const v1::Grant& g) {
  if (!g.directory()) return g.path().empty() ? "-" : g.path();
  if (g.path().empty()) return "/";
  return g.path().back() == '/' ? g.path() : g.path() + "/";
}

std::string OpsOf(const v1::Grant& g) {
  if (g.operations().empty()) return "read";  // The daemon's default.
  std::vector<std::string> names;
  for (int op : g.operations()) {
    std::string name = absl::AsciiStrToLower(v1::Operation_Name(static_cast<v1::Operation>(op)));
    names.push_back(name.empty() ? absl::StrCat("op ", op) : name);
  }
  return absl::StrJoin(names, ",");
}

std::string RedactedOf(const v1::Grant& g) {
  if (!g.redacted()) return "no";
  return g.redaction_profile().empty() ? "yes (strict allowlist)"
                                       : "yes (profile " + g.redaction_profile() + ")";
}

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

// "2026-12-07T20:08:06Z (in 1h 0m 0s)", or "never".
std::string ExpiresOf(const v1::Grant& g) {
  if (g.expires_unix_nanos() == 0) return "never";
  return absl::StrCat(FormatUnixNanos(g.expires_unix_nanos()), " (",
                      FormatExpiresIn(g.expires_unix_nanos(), NowNanos()), ")");
}

// One line: "g3 (app gallery, DCIM/Camera/, read)".
std::string Summary(const v1::Grant& g) {
  return absl::StrCat(g.id().empty() ? "?" : g.id(), " (", WhoOf(g), ", ", PathOf(g), ", ",
                      OpsOf(g), g.redacted() ? ", redacted" : "", ")");
}

}  // namespace

absl::StatusOr<std::vector<v1::Operation>> ParseGrantOperations(absl::string_view list) {
  std::vector<v1::Operation> ops;
  for (absl::string_view raw : absl::StrSplit(list, ',')) {
    const std::string name(absl::StripAsciiWhitespace(raw));
    const v1::Operation op = ParseOperation(name);
    if (op == v1::LOOKUP) {
      return absl::InvalidArgumentError(
          "--ops: lookup is not granted on its own: every grant implies it");
    }
    if (op == v1::OPERATION_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          name.empty() ? "empty operation" : absl::StrCat("unknown operation '", name, "'"),
          " in --ops: use read, write, create, delete, rename or setattr"));
    }
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  }
  return ops;
}

int GrantAdd(AdminClient& client, const OutputOptions& out, const GrantArgs& args) {
  v1::AddGrantRequest request;
  v1::Grant* g = request.mutable_grant();
  if (args.app.has_value()) g->set_app(*args.app);
  if (args.uid.has_value()) g->set_uid(*args.uid);
  if (!WirePath(client, args.path, g->mutable_path())) return kExitFailure;
  for (v1::Operation op : args.operations) g->add_operations(op);
  g->set_redacted(args.redacted);
  g->set_redaction_profile(args.profile);
  request.set_duration_seconds(args.duration_seconds);
  v1::AddGrantResponse response;
  if (grpc::Status st = client.AddGrant(request, &response); !st.ok()) {
    // INVALID_ARGUMENT (no such app, path, profile) and NOT_FOUND come with
    // the daemon's reason.
    return Fail(client.Describe(st, "AddGrant"));
  }
  MakeDisplayable(response.mutable_grant());
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  const v1::Grant& r = response.grant();
  Table table;
  table.AddRow({"grant", r.id().empty() ? "-" : r.id()});
  table.AddRow({"who", WhoOf(r)});
  table.AddRow({"path", absl::StrCat(r.path().empty() ? "/" : r.path(),
                                     r.directory() ? " (directory and everything below)"
                                                   : " (file)")});
  table.AddRow({"operations", OpsOf(r)});
  table.AddRow({"redacted", RedactedOf(r)});
  table.AddRow({"expires", ExpiresOf(r)});
  table.AddRow({"generation", absl::StrCat(response.generation())});
  Print(table.Render());
  return kExitOk;
}

int GrantRevoke(AdminClient& client, const OutputOptions& out, const std::string& id) {
  v1::RevokeGrantRequest request;
  request.set_id(id);
  v1::RevokeGrantResponse response;
  if (grpc::Status st = client.RevokeGrant(request, &response); !st.ok()) {
    return Fail(client.Describe(st, "RevokeGrant"));
  }
  MakeDisplayable(response.mutable_grant());
  for (auto* handles : {response.mutable_revoked(), response.mutable_unrevocable()}) {
    for (v1::Handle& h : *handles) MakeDisplayable(&h);
  }
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  Print(absl::StrCat("revoked grant ", Summary(response.grant()), "\n", "generation ",
                     response.generation(), "\n",
                     HandleChangesText(out, response.revoked(), response.unrevocable(),
                                       /*list_revoked=*/true)));
  return kExitOk;
}

int GrantsList(AdminClient& client, const OutputOptions& out) {
  v1::ListGrantsResponse response;
  if (grpc::Status st = client.ListGrants(&response); !st.ok()) {
    return Fail(client.Describe(st, "ListGrants"));
  }
  for (v1::Grant& g : *response.mutable_grants()) MakeDisplayable(&g);
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  const int64_t now = NowNanos();
  Table table;
  table.AddRow({"ID", "WHO", "PATH", "OPS", "REDACTED", "EXPIRES", "CREATED BY"});
  for (const v1::Grant& g : response.grants()) {
    std::string expires = "never";
    if (g.expires_unix_nanos() != 0) {
      expires = FormatExpiresIn(g.expires_unix_nanos(), now);
      // One the daemon has not dropped yet (it expires them on a timer).
      if (g.expires_unix_nanos() <= now) expires = Paint(out.color, expires, Color::kYellow);
    }
    table.AddRow({g.id().empty() ? "-" : g.id(), WhoOf(g), PathOf(g), OpsOf(g), RedactedOf(g),
                  expires, absl::StrCat("uid ", g.created_by_uid())});
  }
  Print(table.Render());
  return kExitOk;
}

}  // namespace scopedfs::tools
