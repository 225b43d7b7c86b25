#include "metrics/prometheus_text.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "audit/escape.h"

namespace scopedfs::metrics {
namespace {

struct Family {
  const char* type = "counter";
  std::string help;  // Empty: no HELP line (the daemon's counters come without).
  std::vector<std::pair<std::string, std::string>> samples;  // labels, value
};

std::string Number(double v) { return absl::StrFormat("%.9g", v); }

// A label value as the text format wants it: rule ids come from the policy
// file, so anything may be in them (made valid UTF-8 without control
// characters first, as scopedctl prints them; then '\' and '"' escaped).
std::string LabelValue(absl::string_view raw) {
  std::string out;
  for (char c : audit::EscapeControls(raw)) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Nanoseconds since the epoch as seconds, exactly ("1765134486.5"): a
// double printed with %g would round to the minute or worse.
std::string UnixSeconds(int64_t nanos) {
  std::string s = absl::StrFormat("%d.%09d", nanos / 1000000000, nanos % 1000000000);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// GetStatsResponse.rule_hits as two families: decisions per rule and
// outcome (a counter), and when each rule last decided (a gauge, for rules
// that did). A grant whose id is also a rule's would make two series with
// the same labels, which the format forbids: they are added up.
void AddRuleHits(const v1::GetStatsResponse& stats, std::map<std::string, Family>* families) {
  if (stats.rule_hits().empty()) return;
  struct Sum {
    uint64_t allowed = 0, redacted = 0, denied = 0, hidden = 0;
    int64_t last_hit = 0;
  };
  std::map<std::string, Sum> rules;
  for (const v1::RuleHits& h : stats.rule_hits()) {
    Sum& sum = rules[h.rule_index() < 0 ? "(default)" : h.rule_id()];
    sum.allowed += h.allowed();
    sum.redacted += h.redacted();
    sum.denied += h.denied();
    sum.hidden += h.hidden();
    sum.last_hit = std::max(sum.last_hit, h.last_hit_unix_nanos());
  }
  Family& hits = (*families)["scopedfs_rule_hits_total"];
  hits.type = "counter";
  hits.help =
      "Decisions per rule of the running policy (grants included; rule=\"(default)\": the "
      "default action) by what the caller got.";
  Family& last = (*families)["scopedfs_rule_last_hit_timestamp_seconds"];
  last.type = "gauge";
  last.help = "When the rule last decided, in seconds since the epoch (rules that did only).";
  for (const auto& [rule, sum] : rules) {
    const std::string label = absl::StrCat("rule=\"", LabelValue(rule), "\"");
    for (const auto& [outcome, n] : {std::pair<const char*, uint64_t>{"allowed", sum.allowed},
                                     {"redacted", sum.redacted},
                                     {"denied", sum.denied},
                                     {"hidden", sum.hidden}}) {
      hits.samples.emplace_back(absl::StrCat("{", label, ",outcome=\"", outcome, "\"}"),
                                absl::StrCat(n));
    }
    if (sum.last_hit > 0) last.samples.emplace_back("{" + label + "}", UnixSeconds(sum.last_hit));
  }
}

}  // namespace

std::string RenderPrometheus(const v1::HealthResponse& health, const v1::GetStatsResponse& stats) {
  const std::set<std::string> gauges(stats.gauges().begin(), stats.gauges().end());
  std::map<std::string, Family> families;
  for (const auto& [key, value] : stats.counters()) {
    const size_t brace = key.find('{');
    const std::string base = key.substr(0, brace);
    const std::string labels = brace == std::string::npos ? "" : key.substr(brace);
    const bool gauge = gauges.count(key) > 0;
    Family& f = families[absl::StrCat("scopedfs_", base, gauge ? "" : "_total")];
    f.type = gauge ? "gauge" : "counter";
    f.samples.emplace_back(labels, absl::StrCat(value));
  }
  auto gauge = [&](const char* name, std::string value) {
    Family& f = families[name];
    f.type = "gauge";
    f.samples.emplace_back("", std::move(value));
  };
  gauge("scopedfs_up", health.serving() ? "1" : "0");
  gauge("scopedfs_passthrough", health.passthrough() ? "1" : "0");
  gauge("scopedfs_policy_generation", absl::StrCat(stats.policy_generation()));
  gauge("scopedfs_uptime_seconds", absl::StrCat(health.uptime_seconds()));
  AddRuleHits(stats, &families);

  std::string out;
  for (auto& [name, f] : families) {
    if (f.samples.empty()) continue;
    std::sort(f.samples.begin(), f.samples.end());
    if (!f.help.empty()) absl::StrAppend(&out, "# HELP ", name, " ", f.help, "\n");
    absl::StrAppend(&out, "# TYPE ", name, " ", f.type, "\n");
    for (const auto& [labels, value] : f.samples) absl::StrAppend(&out, name, labels, " ", value, "\n");
  }
  for (const v1::Histogram& h : stats.histograms()) {
    const std::string name = absl::StrCat("scopedfs_", h.name(), "_seconds");
    absl::StrAppend(&out, "# TYPE ", name, " histogram\n");
    uint64_t cumulative = 0;
    for (int i = 0; i < h.counts_size(); ++i) {
      cumulative += h.counts(i);
      const std::string le = i < h.bounds_seconds_size() ? Number(h.bounds_seconds(i)) : "+Inf";
      absl::StrAppend(&out, name, "_bucket{le=\"", le, "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, name, "_sum ", Number(h.sum_seconds()), "\n");
    absl::StrAppend(&out, name, "_count ", h.count(), "\n");
  }
  return out;
}

}  // namespace scopedfs::metrics
