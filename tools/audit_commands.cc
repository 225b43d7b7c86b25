#include "tools/audit_commands.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/output.h"

namespace scopedfs::tools {
namespace {

// Queries take pages of this size.
constexpr uint32_t kPage = 1000;

std::string Lower(const std::string& s) { return absl::AsciiStrToLower(s); }

std::string TimeOf(const v1::AuditEvent& e) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixNanos(e.time_unix_nanos()),
                          absl::UTCTimeZone());
}

std::string WhoOf(const v1::AuditEvent& e) {
  return absl::StrCat(e.pid(), "/", e.comm().empty() ? "?" : e.comm());
}

std::string OutcomeOf(const v1::AuditEvent& e) {
  std::string out = Lower(v1::Action_Name(e.decision()));
  if (e.error() != 0 && e.decision() == v1::ALLOW_REDACTED) {
    absl::StrAppend(&out, "(refused)");
  }
  return out;
}

std::string PaintedOutcome(const OutputOptions& out, const v1::AuditEvent& e) {
  // A redacted open that was refused is a denial.
  const v1::Action action =
      e.decision() == v1::ALLOW_REDACTED && e.error() != 0 ? v1::DENY : e.decision();
  return PaintAction(out, OutcomeOf(e), action);
}

// The event with every string made safe for a terminal. The daemon sends
// client-supplied strings escaped already (a no-op then); this is defense
// in depth against one that does not.
v1::AuditEvent Displayable(const v1::AuditEvent& e) {
  v1::AuditEvent d = e;
  for (std::string* s : {d.mutable_comm(), d.mutable_exe(), d.mutable_app(), d.mutable_path(),
                         d.mutable_rule_id(), d.mutable_redaction(),
                         d.mutable_shadow_rule_id()}) {
    *s = Safe(*s);
  }
  return d;
}

void PrintEvent(const OutputOptions& out, const v1::AuditEvent& e) {
  Print(out.json ? ToJson(e) + "\n" : FormatAuditEvent(e, out.color) + "\n");
}

}  // namespace

std::string AuditHeader() {
  return absl::StrFormat("%-8s %-24s %-6s %-20s %-14s %-7s %-15s %-16s %s", "ID", "TIME", "UID",
                         "PID/COMM", "APP", "OP", "DECISION", "RULE", "PATH");
}

namespace {
// The path; for an open of a redacted view what was redacted; and where a
// shadow policy decided otherwise, its verdict and rule ("(default)": its
// default action or a bypass). At the end of the line, so that events
// without them keep their columns.
std::string PathWithDetails(const v1::AuditEvent& e, bool color) {
  std::string s = e.path();
  if (!e.redaction().empty()) absl::StrAppend(&s, " [", e.redaction(), "]");
  if (e.has_shadow_decision()) {
    absl::StrAppend(
        &s, " shadow=",
        PaintAction(OutputOptions{false, color}, Lower(v1::Action_Name(e.shadow_decision())),
                    e.shadow_decision()),
        "/", e.shadow_rule_id().empty() ? "(default)" : e.shadow_rule_id());
  }
  return s;
}
}  // namespace

std::string FormatAuditEvent(const v1::AuditEvent& e, bool color) {
  // The decision is padded by hand: its escape sequences take no columns.
  const std::string outcome = OutcomeOf(e);
  const std::string pad(outcome.size() < 15 ? 15 - outcome.size() : 0, ' ');
  return absl::StrFormat("%-8d %-24s %-6d %-20s %-14s %-7s %s%s %-16s %s", e.id(), TimeOf(e),
                         e.uid(), WhoOf(e), e.app().empty() ? "-" : e.app(),
                         Lower(v1::Operation_Name(e.operation())),
                         PaintedOutcome(OutputOptions{false, color}, e), pad,
                         e.rule_id().empty() ? "-" : e.rule_id(), PathWithDetails(e, color));
}

int AuditTail(AdminClient& client, const OutputOptions& out, const AuditTailArgs& args) {
  uint64_t last_id = 0;
  bool header = false;
  auto print = [&](const v1::AuditEvent& e) {
    if (!out.json && !header) {
      Print(AuditHeader() + "\n");
      header = true;
    }
    PrintEvent(out, Displayable(e));
    last_id = e.id();
  };
  if (!args.after_id.has_value() && args.lines > 0) {
    // The last N stored events, printed oldest first.
    v1::QueryAuditRequest request;
    *request.mutable_filter() = args.filter;
    request.set_limit(args.lines);
    request.set_newest_first(true);
    v1::QueryAuditResponse response;
    if (grpc::Status st = client.QueryAudit(request, &response); !st.ok()) {
      return Fail(client.Describe(st, "QueryAudit"));
    }
    for (int i = response.events_size() - 1; i >= 0; --i) print(response.events(i));
  }
  if (!args.follow && !args.after_id.has_value()) {
    if (!out.json && !header) Print(AuditHeader() + "\n");
    return kExitOk;
  }
  v1::StreamAuditRequest request;
  *request.mutable_filter() = args.filter;
  if (args.after_id.has_value()) {
    request.set_after_id(*args.after_id);
  } else if (last_id > 0) {
    request.set_after_id(last_id);  // No gap between the tail and the stream.
  }
  if (!out.json && !header) {
    Print(AuditHeader() + "\n");
    header = true;
  }
  std::fflush(stdout);
  grpc::Status st = client.StreamAudit(request, [&](const v1::AuditEvent& e) {
    print(e);
    std::fflush(stdout);  // A pipe reader sees each event at once.
    return std::ferror(stdout) == 0;
  });
  if (!st.ok()) return Fail(client.Describe(st, "StreamAudit"));
  return kExitOk;
}

int AuditQuery(AdminClient& client, const OutputOptions& out, const AuditQueryArgs& args) {
  v1::QueryAuditRequest request;
  *request.mutable_filter() = args.filter;
  request.set_newest_first(args.newest_first);
  uint64_t printed = 0;
  Table table;
  table.AddRow({"ID", "TIME", "UID", "PID/COMM", "APP", "OP", "DECISION", "RULE", "PATH"});
  while (true) {
    uint32_t want = kPage;
    if (args.limit > 0) want = static_cast<uint32_t>(std::min<uint64_t>(kPage, args.limit - printed));
    request.set_limit(want);
    v1::QueryAuditResponse response;
    if (grpc::Status st = client.QueryAudit(request, &response); !st.ok()) {
      return Fail(client.Describe(st, "QueryAudit"));
    }
    for (const v1::AuditEvent& received : response.events()) {
      const v1::AuditEvent e = Displayable(received);
      if (out.json) {
        PrintEvent(out, e);
      } else {
        table.AddRow({absl::StrCat(e.id()), TimeOf(e), absl::StrCat(e.uid()), WhoOf(e),
                      e.app().empty() ? "-" : e.app(), Lower(v1::Operation_Name(e.operation())),
                      PaintedOutcome(out, e), e.rule_id().empty() ? "-" : e.rule_id(),
                      PathWithDetails(e, out.color)});
      }
      ++printed;
    }
    if (response.next_page_token().empty() || (args.limit > 0 && printed >= args.limit)) break;
    request.set_page_token(response.next_page_token());
  }
  if (!out.json) Print(table.Render());
  return kExitOk;
}

}  // namespace scopedfs::tools
