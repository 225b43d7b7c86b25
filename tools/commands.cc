#include "tools/commands.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "audit/escape.h"
#include "policy/policy_text.h"
#include "tools/handle_commands.h"
#include "tools/output.h"
#include "metrics/prometheus_text.h"
#include "tools/policy_text.h"
#include "tools/text_diff.h"

namespace scopedfs::tools {
namespace {

std::string DisplayName(const std::string& file) { return file == "-" ? "<stdin>" : file; }

std::string ActionName(v1::Action action) {
  const std::string& name = v1::Action_Name(action);
  return name.empty() ? absl::StrCat("action ", static_cast<int>(action)) : name;
}

// The daemon's string for a table cell: "-" if empty, made safe to print.
std::string OrDash(const std::string& s) { return s.empty() ? "-" : Safe(s); }

Table CountersTable(const v1::GetStatsResponse& stats) {
  std::vector<std::pair<std::string, uint64_t>> counters(stats.counters().begin(),
                                                         stats.counters().end());
  std::sort(counters.begin(), counters.end());
  Table table({false, true});
  table.AddRow({"COUNTER", "VALUE"});
  for (const auto& [name, value] : counters) table.AddRow({Safe(name), absl::StrCat(value)});
  return table;
}

// The upper bound of the bucket holding quantile q, as "<= 1.02ms".
std::string Quantile(const v1::Histogram& h, double q) {
  if (h.count() == 0) return "-";
  const double want = q * static_cast<double>(h.count());
  uint64_t cumulative = 0;
  for (int i = 0; i < h.counts_size(); ++i) {
    cumulative += h.counts(i);
    if (static_cast<double>(cumulative) >= want) {
      if (i >= h.bounds_seconds_size()) return "> max";
      return absl::StrCat("<= ", absl::FormatDuration(absl::Seconds(h.bounds_seconds(i))));
    }
  }
  return "-";
}

Table HistogramsTable(const v1::GetStatsResponse& stats) {
  Table table({false, true, false, false, false});
  table.AddRow({"LATENCY", "COUNT", "MEAN", "P50", "P99"});
  for (const v1::Histogram& h : stats.histograms()) {
    const std::string mean =
        h.count() == 0 ? "-"
                       : absl::FormatDuration(absl::Seconds(h.sum_seconds() / h.count()));
    table.AddRow(
        {Safe(h.name()), absl::StrCat(h.count()), mean, Quantile(h, 0.5), Quantile(h, 0.99)});
  }
  return table;
}

}  // namespace

std::string PaintAction(const OutputOptions& out, const std::string& text, v1::Action action) {
  switch (action) {
    case v1::ALLOW: return Paint(out.color, text, Color::kGreen);
    case v1::ALLOW_REDACTED: return Paint(out.color, text, Color::kYellow);
    case v1::DENY:
    case v1::HIDE: return Paint(out.color, text, Color::kRed);
    default: return text;
  }
}

std::string PaintYesNo(const OutputOptions& out, bool b) {
  return Paint(out.color, YesNo(b), b ? Color::kGreen : Color::kRed);
}

std::string ActionWord(const OutputOptions& out, v1::Action action) {
  std::string word = absl::AsciiStrToLower(v1::Action_Name(action));
  if (word.empty()) word = absl::StrCat("action ", static_cast<int>(action));
  return PaintAction(out, word, action);
}

absl::StatusOr<uint64_t> ParseDurationSeconds(absl::string_view text, absl::string_view flag) {
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value '", text, "' for ", flag, ": ", why));
  };
  constexpr absl::string_view kUse = "use a duration like 30s, 10m, 1h or 2d";
  constexpr absl::string_view kDigits = "0123456789";
  // absl::ParseDuration has no days: "2d" and "1d12h" are split here.
  absl::Duration d;
  absl::string_view rest = text;
  if (const size_t day = rest.find('d'); day != absl::string_view::npos) {
    const absl::string_view count = rest.substr(0, day);
    uint32_t days = 0;
    if (count.empty() || count.find_first_not_of(kDigits) != absl::string_view::npos ||
        !absl::SimpleAtoi(count, &days)) {
      return invalid(kUse);
    }
    d = absl::Hours(24) * days;
    rest.remove_prefix(day + 1);
  }
  if (!rest.empty() || text.empty()) {
    absl::Duration more;
    // A number without a unit is refused: "30" could mean seconds or
    // minutes (absl takes a bare "0", which is refused below).
    const bool bare =
        rest != "0" && rest.find_first_not_of(".0123456789") == absl::string_view::npos;
    if (bare || !absl::ParseDuration(rest, &more)) return invalid(kUse);
    d += more;
  }
  if (d == absl::InfiniteDuration()) return invalid(kUse);
  if (d < absl::Seconds(1)) return invalid("at least 1s (leave the flag out for no end)");
  return static_cast<uint64_t>(absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1))));
}

v1::Operation ParseOperation(const std::string& name) {
  v1::Operation op;
  const std::string upper = absl::AsciiStrToUpper(name);
  if (upper == "OPERATION_UNSPECIFIED" || !v1::Operation_Parse(upper, &op)) {
    return v1::OPERATION_UNSPECIFIED;
  }
  return op;
}

int PolicyGet(AdminClient& client, const OutputOptions& out) {
  v1::GetPolicyResponse response;
  if (grpc::Status st = client.GetPolicy(&response); !st.ok()) {
    return Fail(client.Describe(st, "GetPolicy"));
  }
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  std::string text = response.text();
  if (text.empty() && response.has_policy()) text = CanonicalPolicyText(response.policy());
  if (!text.empty() && text.back() != '\n') text += '\n';
  // A comment keeps the output a valid policy file.
  Print(absl::StrCat("# generation ", response.policy().generation(), "\n", SafeLines(text)));
  return kExitOk;
}

int PolicyValidate(AdminClient& client, const OutputOptions& out, const std::string& file) {
  absl::StatusOr<std::string> text = ReadPolicyFile(file);
  if (!text.ok()) return Fail(text.status().message());
  v1::ValidatePolicyRequest request;
  request.set_text(*std::move(text));
  v1::ValidatePolicyResponse response;
  if (grpc::Status st = client.ValidatePolicy(request, &response); !st.ok()) {
    // Too large for the Admin API: say which file.
    return Fail(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED
                    ? absl::StrCat(DisplayName(file), ": ", client.Describe(st, "ValidatePolicy"))
                    : client.Describe(st, "ValidatePolicy"));
  }
  const int code = response.valid() ? kExitOk : kExitFailure;
  if (out.json) {
    Print(ToJson(response) + "\n");
    return code;
  }
  const std::string name = DisplayName(file);
  std::string report;
  for (const v1::PolicyError& error : response.errors()) {
    // No field path (scopedfsd says "text" when the file does not parse).
    const bool no_field = error.field().empty() || error.field() == "text";
    absl::StrAppend(&report, Paint(out.color, name + ":", Color::kBold), " ",
                    no_field ? "" : Paint(out.color, Safe(error.field()) + ":", Color::kBold) + " ",
                    Paint(out.color, OneLine(error.message()), Color::kRed), "\n");
  }
  if (response.valid()) {
    absl::StrAppend(&report, Paint(out.color, absl::StrCat("policy ", name, " is valid"),
                                   Color::kGreen),
                    "\n");
  } else if (response.errors_size() == 0) {
    absl::StrAppend(&report, Paint(out.color, name + ":", Color::kBold), " ",
                    Paint(out.color, "not a valid policy (scopedfsd gave no details)",
                          Color::kRed),
                    "\n");
  }
  Print(report);
  return code;
}

int PolicyApply(AdminClient& client, const OutputOptions& out, const std::string& file,
                uint64_t expected_generation, bool refuse_unrevocable) {
  absl::StatusOr<std::string> text = ReadPolicyFile(file);
  if (!text.ok()) return Fail(text.status().message());
  v1::ApplyPolicyRequest request;
  request.set_text(*std::move(text));
  request.set_expected_generation(expected_generation);
  request.set_refuse_unrevocable(refuse_unrevocable);
  v1::ApplyPolicyResponse response;
  grpc::Status st = client.ApplyPolicy(request, &response);
  const std::string name = DisplayName(file);
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      break;
    case grpc::StatusCode::FAILED_PRECONDITION: {
      // The daemon's compare-and-set on the generation failed, or (with
      // --revoke) open handles it cannot revoke would keep their access:
      // its message says which (and lists the handles).
      std::string why = st.error_message();
      if (why.empty() && expected_generation != 0) {
        why = absl::StrCat("the running policy is no longer generation ", expected_generation,
                           ": fetch it again and retry");
      } else if (why.empty()) {
        why = "open handles the daemon cannot revoke would keep an access it removes "
              "(see scopedctl handles)";
      }
      return Fail(absl::StrCat("policy ", name, " not applied: ", why));
    }
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Fail(absl::StrCat(
          "policy ", name, " not applied: ",
          st.error_message().empty()
              ? absl::StrCat("it is not valid (see scopedctl policy validate ", file, ")")
              : st.error_message()));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // Too large for the Admin API (refused before it was sent).
      return Fail(absl::StrCat("policy ", name, " not applied: ",
                               client.Describe(st, "ApplyPolicy")));
    default:
      return Fail(client.Describe(st, "ApplyPolicy"));
  }
  for (auto* handles : {response.mutable_revoked(), response.mutable_unrevocable()}) {
    for (v1::Handle& h : *handles) MakeDisplayable(&h);
  }
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  std::string report = absl::StrCat("applied: generation ", response.generation(), "\n");
  // Only when a handle lost its access: otherwise the output is what it
  // always was (scripts, and daemons that do not revoke).
  if (response.revoked_size() > 0 || response.unrevocable_size() > 0) {
    absl::StrAppend(&report, HandleChangesText(out, response.revoked(), response.unrevocable(),
                                               /*list_revoked=*/false));
  }
  Print(report);
  return kExitOk;
}

int PolicyDiff(AdminClient& client, const OutputOptions& out, const std::string& file) {
  absl::StatusOr<std::string> text = ReadPolicyFile(file);
  if (!text.ok()) return Fail(text.status().message());
  const std::string name = DisplayName(file);
  absl::StatusOr<v1::Policy> wanted = policy::ParsePolicyText(*text);
  if (!wanted.ok()) return Fail(absl::StrCat(name, ": ", wanted.status().message()));

  v1::GetPolicyResponse response;
  if (grpc::Status st = client.GetPolicy(&response); !st.ok()) {
    return Fail(client.Describe(st, "GetPolicy"));
  }
  // The stored text is what the daemon runs; the message is its parse.
  v1::Policy running;
  if (absl::StatusOr<v1::Policy> parsed = policy::ParsePolicyText(response.text());
      !response.text().empty() && parsed.ok()) {
    running = *std::move(parsed);
  } else if (response.has_policy()) {
    running = response.policy();
  } else {
    return Fail("scopedfsd returned no policy");
  }
  const uint64_t generation =
      response.has_policy() ? response.policy().generation() : running.generation();

  const std::string diff =
      SafeLines(UnifiedDiff(CanonicalPolicyText(running), CanonicalPolicyText(*wanted),
                            absl::StrCat("running (generation ", generation, ")"), name));
  if (out.json) {
    Print(absl::StrCat("{\"file\":", JsonQuote(name), ",\"running_generation\":\"",
                       generation, "\",\"identical\":", diff.empty() ? "true" : "false",
                       ",\"diff\":", JsonQuote(diff), "}\n"));
  } else if (diff.empty()) {
    Print(absl::StrCat("no differences (running generation ", generation, ")\n"));
  } else if (!out.color) {
    Print(diff);
  } else {
    // As git colours a diff: file names bold, hunk headers cyan, removed
    // lines red, added lines green.
    std::string colored;
    for (absl::string_view line : absl::StrSplit(diff, '\n')) {
      if (line.empty()) continue;
      Color color = Color::kBold;
      if (absl::StartsWith(line, "---") || absl::StartsWith(line, "+++")) {
        color = Color::kBold;
      } else if (absl::StartsWith(line, "@@")) {
        color = Color::kCyan;
      } else if (absl::StartsWith(line, "-")) {
        color = Color::kRed;
      } else if (absl::StartsWith(line, "+")) {
        color = Color::kGreen;
      } else {
        absl::StrAppend(&colored, line, "\n");
        continue;
      }
      absl::StrAppend(&colored, Paint(true, line, color), "\n");
    }
    Print(colored);
  }
  return diff.empty() ? kExitOk : kExitFailure;
}

bool MountRelative(AdminClient& client, std::string* path) {
  if (!absl::StartsWith(*path, "/")) return true;
  v1::HealthResponse health;
  if (grpc::Status st = client.Health(&health); !st.ok()) {
    Fail(client.Describe(st, "Health"));
    return false;
  }
  std::string mountpoint = health.mountpoint();
  while (mountpoint.size() > 1 && mountpoint.back() == '/') mountpoint.pop_back();
  absl::string_view rest = *path;
  if (mountpoint.size() > 1 && absl::ConsumePrefix(&rest, mountpoint) &&
      (rest.empty() || rest.front() == '/')) {
    while (absl::ConsumePrefix(&rest, "/")) {
    }
    *path = std::string(rest);
  }
  return true;
}

bool WirePath(AdminClient& client, const std::string& path, std::string* wire) {
  std::string relative = path;
  if (!MountRelative(client, &relative)) return false;
  *wire = audit::EscapeControls(relative);
  return true;
}

int Explain(AdminClient& client, const OutputOptions& out, const ExplainArgs& args) {
  // A full path under the mountpoint is made relative to the mount root;
  // other absolute paths go as they are (the daemon reads "/DCIM/a.jpg" as
  // "DCIM/a.jpg").
  std::string path = args.path;
  if (!MountRelative(client, &path)) return kExitFailure;

  v1::ExplainRequest request;
  if (args.app) request.set_app(*args.app);
  if (args.uid) request.set_uid(*args.uid);
  request.set_gid(args.gid);
  request.set_path(path);
  request.set_operation(args.operation);
  request.set_caller_is_owner(args.caller_is_owner);
  v1::ExplainResponse response;
  if (grpc::Status st = client.Explain(request, &response); !st.ok()) {
    return Fail(client.Describe(st, "Explain"));
  }
  if (out.json) {
    Print(ToJson(response) + "\n");
    return kExitOk;
  }
  const v1::Decision& d = response.decision();
  Table table;
  table.AddRow({"action", PaintAction(out, ActionName(d.action()), d.action())});
  table.AddRow({"rule", d.rule_index() >= 0
                            ? absl::StrCat(OrDash(d.rule_id()), " (rules[", d.rule_index(), "])")
                            : "none (default action or bypass)"});
  table.AddRow({"reason", OrDash(OneLine(d.reason()))});
  table.AddRow({"app", d.app().empty() ? "none" : Safe(d.app())});
  table.AddRow({"redaction", OrDash(d.redaction_profile())});
  table.AddRow({"audit", PaintYesNo(out, d.audit())});
  table.AddRow({"generation", absl::StrCat(d.generation())});
  Print(table.Render());
  return kExitOk;
}

int Status(AdminClient& client, const OutputOptions& out, bool prometheus) {
  v1::HealthResponse health;
  if (grpc::Status st = client.Health(&health); !st.ok()) {
    return Fail(client.Describe(st, "Health"));
  }
  v1::GetStatsResponse stats;
  if (grpc::Status st = client.GetStats(&stats); !st.ok()) {
    return Fail(client.Describe(st, "GetStats"));
  }
  if (prometheus) {
    Print(metrics::RenderPrometheus(health, stats));
    return kExitOk;
  }
  if (out.json) {
    Print(absl::StrCat("{\"health\":", ToJson(health), ",\"stats\":", ToJson(stats), "}\n"));
    return kExitOk;
  }
  Table table;
  table.AddRow({"serving", PaintYesNo(out, health.serving())});
  table.AddRow({"mountpoint", OrDash(health.mountpoint())});
  table.AddRow({"source", OrDash(health.source())});
  table.AddRow({"passthrough", PaintYesNo(out, health.passthrough())});
  table.AddRow({"generation", absl::StrCat(health.policy_generation())});
  table.AddRow({"uptime", FormatDuration(health.uptime_seconds())});
  std::string text = table.Render();
  absl::StrAppend(&text, "\n", CountersTable(stats).Render());
  if (stats.histograms_size() > 0) {
    absl::StrAppend(&text, "\n", HistogramsTable(stats).Render());
  }
  Print(text);
  return kExitOk;
}

int Stats(AdminClient& client, const OutputOptions& out) {
  v1::GetStatsResponse stats;
  if (grpc::Status st = client.GetStats(&stats); !st.ok()) {
    return Fail(client.Describe(st, "GetStats"));
  }
  Print(out.json ? ToJson(stats) + "\n" : CountersTable(stats).Render());
  return kExitOk;
}

}  // namespace scopedfs::tools
