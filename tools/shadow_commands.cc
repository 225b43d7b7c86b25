#include "tools/shadow_commands.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/output.h"
#include "tools/policy_text.h"

namespace scopedfs::tools {
namespace {

std::string DisplayName(const std::string& file) { return file == "-" ? "<stdin>" : file; }

// A rule id of a report: empty is the default action (or a bypass).
std::string RuleOf(const std::string& id) { return id.empty() ? "(default)" : id; }

// The report's strings made safe for a terminal (tables and --json).
void MakeDisplayable(v1::ShadowReport* r) {
  for (v1::ShadowReport::RulePair& p : *r->mutable_pairs()) {
    p.set_enforced_rule_id(Safe(p.enforced_rule_id()));
    p.set_shadow_rule_id(Safe(p.shadow_rule_id()));
  }
  for (v1::ShadowReport::PathCount& p : *r->mutable_top_paths()) p.set_path(Safe(p.path()));
  r->set_text(SafeLines(r->text()));
}

std::string ExpiresOf(const v1::ShadowReport& r, int64_t now) {
  if (r.expires_unix_nanos() == 0) {
    return r.active() ? "never (until scopedctl policy shadow stop)" : "never";
  }
  std::string when = FormatUnixNanos(r.expires_unix_nanos());
  if (r.active()) absl::StrAppend(&when, " (", FormatExpiresIn(r.expires_unix_nanos(), now), ")");
  return when;
}

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

// Prints `report` (--json: as it is).
int PrintReport(const OutputOptions& out, v1::ShadowReport report, const std::string& title) {
  MakeDisplayable(&report);
  if (out.json) {
    Print(ToJson(report) + "\n");
    return kExitOk;
  }
  Print(absl::StrCat(title, RenderShadowReport(out, report, NowNanos())));
  return kExitOk;
}

}  // namespace

std::string RenderShadowReport(const OutputOptions& out, const v1::ShadowReport& r,
                               int64_t now) {
  Table header;
  const bool never_installed = !r.active() && r.since_unix_nanos() == 0;
  header.AddRow({"active", never_installed ? "no (no shadow policy installed)"
                                           : PaintYesNo(out, r.active())});
  header.AddRow({"since", r.since_unix_nanos() == 0 ? "-" : FormatUnixNanos(r.since_unix_nanos())});
  header.AddRow({"expires", never_installed ? "-" : ExpiresOf(r, now)});
  header.AddRow({"compared", absl::StrCat(r.decisions(), r.decisions() == 1 ? " decision" : " decisions")});
  std::string differing = absl::StrCat(r.differing());
  if (r.decisions() > 0) {
    const double share =
        100.0 * static_cast<double>(r.differing()) / static_cast<double>(r.decisions());
    absl::StrAppend(&differing, absl::StrFormat(" (%.2f%%)", share));
  }
  header.AddRow({"differing", r.differing() > 0 ? Paint(out.color, differing, Color::kYellow)
                                                : differing});
  std::string text = header.Render();
  if (r.pairs().empty() && r.top_paths().empty()) {
    if (r.differing() == 0 && !never_installed) {
      absl::StrAppend(&text, "\nno differing decisions\n");
    }
    return text;
  }

  if (!r.pairs().empty()) {
    // Most frequent first, as the daemon sorts them.
    Table pairs({false, false, false, false, true});
    pairs.AddRow({"ENFORCED RULE", "", "SHADOW RULE", "VERDICTS", "COUNT"});
    for (const v1::ShadowReport::RulePair& p : r.pairs()) {
      const std::string verdicts =
          absl::StrCat(ActionWord(out, p.enforced()), " -> ", ActionWord(out, p.shadow()));
      pairs.AddRow({RuleOf(p.enforced_rule_id()), "->", RuleOf(p.shadow_rule_id()), verdicts,
                    absl::StrCat(p.count())});
    }
    absl::StrAppend(&text, "\n", pairs.Render());
  }
  if (!r.top_paths().empty() || r.paths_dropped() > 0) {
    Table paths({true, false});
    paths.AddRow({"DIFFERING", "PATH"});
    for (const v1::ShadowReport::PathCount& p : r.top_paths()) {
      paths.AddRow({absl::StrCat(p.count()), p.path()});
    }
    absl::StrAppend(&text, "\n", paths.Render());
    if (r.paths_dropped() > 0) {
      // The daemon keeps a bounded number of distinct paths.
      absl::StrAppend(&text, r.paths_dropped(), " more differing decisions on paths not counted\n");
    }
  }
  return text;
}

int PolicyShadowSet(AdminClient& client, const OutputOptions& out, const std::string& file,
                    uint64_t duration_seconds) {
  absl::StatusOr<std::string> text = ReadPolicyFile(file);
  if (!text.ok()) return Fail(text.status().message());
  v1::SetShadowPolicyRequest request;
  request.set_text(*std::move(text));
  request.set_duration_seconds(duration_seconds);
  v1::SetShadowPolicyResponse response;
  const std::string name = DisplayName(file);
  grpc::Status st = client.SetShadowPolicy(request, &response);
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Fail(absl::StrCat(
          "shadow policy ", name, " not installed: ",
          st.error_message().empty()
              ? absl::StrCat("it is not valid (see scopedctl policy validate ", file, ")")
              : st.error_message()));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Fail(absl::StrCat("shadow policy ", name, " not installed: ",
                               client.Describe(st, "SetShadowPolicy")));
    default:
      return Fail(client.Describe(st, "SetShadowPolicy"));
  }
  MakeDisplayable(response.mutable_report());
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  const v1::ShadowReport& r = response.report();
  Table table;
  table.AddRow({"since", r.since_unix_nanos() == 0 ? "-" : FormatUnixNanos(r.since_unix_nanos())});
  v1::ShadowReport active = r;
  active.set_active(true);  // Just installed, whatever the empty report says.
  table.AddRow({"expires", ExpiresOf(active, NowNanos())});
  Print(absl::StrCat("shadow policy ", name, " installed (enforcement unchanged)\n",
                     table.Render()));
  return kExitOk;
}

int PolicyShadowReport(AdminClient& client, const OutputOptions& out, uint32_t top_paths) {
  v1::GetShadowReportRequest request;
  request.set_top_paths(top_paths);
  v1::ShadowReport report;
  if (grpc::Status st = client.GetShadowReport(request, &report); !st.ok()) {
    return Fail(client.Describe(st, "GetShadowReport"));
  }
  return PrintReport(out, std::move(report), "");
}

int PolicyShadowStop(AdminClient& client, const OutputOptions& out) {
  v1::ShadowReport report;
  if (grpc::Status st = client.ClearShadowPolicy(&report); !st.ok()) {
    return Fail(client.Describe(st, "ClearShadowPolicy"));
  }
  return PrintReport(out, std::move(report), "shadow policy removed; its final report:\n\n");
}

}  // namespace scopedfs::tools
