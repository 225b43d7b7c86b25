#include "daemon/admin/snapshots.h"

#include <chrono>
#include <string>
#include <utility>

#include "daemon/admin/policy_observe.h"

namespace scopedfs::admin {

v1::GetStatsResponse StatsOf(const AdminContext& ctx) {
  v1::GetStatsResponse response;
  auto* counters = response.mutable_counters();
  ctx.server->ForEachCounter([&](const std::string& name, uint64_t value, bool gauge) {
    (*counters)[name] = value;
    if (gauge) response.add_gauges(name);
  });
  const Stats& stats = ctx.server->stats();
  const std::pair<const char*, const LatencyHistogram*> histograms[] = {
      {"decision_latency", &stats.decision_latency},
      {"open_latency", &stats.open_latency},
  };
  for (const auto& [name, histogram] : histograms) {
    const LatencyHistogram::Snapshot snap = histogram->Read();
    v1::Histogram* h = response.add_histograms();
    h->set_name(name);
    for (double b : snap.bounds_seconds) h->add_bounds_seconds(b);
    for (uint64_t c : snap.counts) h->add_counts(c);
    h->set_count(snap.count);
    h->set_sum_seconds(snap.sum_seconds);
  }
  response.set_policy_generation(ctx.policy->generation());
  const v1::GetRuleHitsResponse hits = RuleHitsOf(*ctx.policy);
  for (const v1::RuleHits& r : hits.rules()) *response.add_rule_hits() = r;
  *response.add_rule_hits() = hits.default_action();
  return response;
}

v1::HealthResponse HealthOf(const AdminContext& ctx) {
  v1::HealthResponse response;
  response.set_serving(true);
  response.set_source(ctx.source);
  response.set_mountpoint(ctx.mountpoint);
  response.set_passthrough(ctx.server->passthrough_active());
  response.set_policy_generation(ctx.policy->generation());
  response.set_uptime_seconds(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::steady_clock::now() - ctx.started)
                                  .count());
  return response;
}

}  // namespace scopedfs::admin
