#include "tools/handle_commands.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/output.h"

namespace scopedfs::tools {
namespace {

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// "passthrough" unless the daemon said otherwise: only handles the kernel
// serves cannot be revoked.
std::string ServedBy(const v1::Handle& h) {
  return h.served_by().empty() ? "passthrough" : h.served_by();
}

std::string Plural(uint64_t n, const char* word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

}  // namespace

void MakeDisplayable(v1::Handle* h) {
  for (std::string* s :
       {h->mutable_comm(), h->mutable_app(), h->mutable_path(), h->mutable_served_by()}) {
    *s = Safe(*s);
  }
}

std::string DescribeHandle(const v1::Handle& h) {
  return absl::StrCat("pid ", h.pid(), " (", h.comm().empty() ? "?" : h.comm(), ") uid ",
                      h.uid(), " app ", OrDash(h.app()), " path ", h.path());
}

std::string HandleChangesText(const OutputOptions& out, const HandleList& revoked,
                              const HandleList& unrevocable, bool list_revoked) {
  std::string text = absl::StrCat("revoked ", Plural(revoked.size(), "open handle"), "\n");
  if (list_revoked) {
    for (const v1::Handle& h : revoked) {
      absl::StrAppend(&text, "revoked: ", DescribeHandle(h), "\n");
    }
  }
  for (const v1::Handle& h : unrevocable) {
    absl::StrAppend(&text,
                    Paint(out.color, absl::StrCat("kept open (", ServedBy(h), ", not revocable):"),
                          Color::kYellow),
                    " ", DescribeHandle(h), "\n");
  }
  return text;
}

int Handles(AdminClient& client, const OutputOptions& out, const HandlesArgs& args) {
  v1::ListHandlesRequest request;
  request.set_app(args.app);
  if (args.uid.has_value()) request.set_uid(*args.uid);
  if (!args.path.empty() && !WirePath(client, args.path, request.mutable_path_prefix())) {
    return kExitFailure;
  }
  v1::ListHandlesResponse response;
  if (grpc::Status st = client.ListHandles(request, &response); !st.ok()) {
    return Fail(client.Describe(st, "ListHandles"));
  }
  for (v1::Handle& h : *response.mutable_handles()) MakeDisplayable(&h);
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  Table table({true, true, false, true, false, false, false, false, false, false, false, false});
  table.AddRow({"ID", "PID", "COMM", "UID", "APP", "MODE", "SERVED BY", "REDACTED", "REVOCABLE",
                "REVOKED", "SINCE", "PATH"});
  for (const v1::Handle& h : response.handles()) {
    table.AddRow(
        {absl::StrCat(h.id()), absl::StrCat(h.pid()), OrDash(h.comm()), absl::StrCat(h.uid()),
         OrDash(h.app()), h.write() ? "write" : "read",
         h.direct_io() ? ServedBy(h) + " (direct I/O)" : ServedBy(h), YesNo(h.redacted()),
         h.revocable() ? "yes" : Paint(out.color, "not revocable", Color::kYellow),
         h.revoked() ? Paint(out.color, "yes", Color::kRed) : "no",
         FormatUnixNanos(h.opened_unix_nanos()), h.path()});
  }
  Print(table.Render());
  return kExitOk;
}

}  // namespace scopedfs::tools
