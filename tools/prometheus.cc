#include "tools/prometheus.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace scopedfs::tools {
namespace {

struct Family {
  const char* type = "counter";
  std::vector<std::pair<std::string, std::string>> samples;  // labels, value
};

std::string Number(double v) { return absl::StrFormat("%.9g", v); }

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

  std::string out;
  for (auto& [name, f] : families) {
    std::sort(f.samples.begin(), f.samples.end());
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

}  // namespace scopedfs::tools
