// `scopedctl status --prometheus`: the daemon's counters, gauges and
// histograms in the Prometheus text exposition format (version 0.0.4), for
// node_exporter's textfile collector, e.g.
//   scopedctl status --prometheus > /var/lib/node_exporter/scopedfs.prom.$$ &&
//     mv /var/lib/node_exporter/scopedfs.prom.$$ /var/lib/node_exporter/scopedfs.prom
#ifndef SCOPEDFS_TOOLS_PROMETHEUS_H_
#define SCOPEDFS_TOOLS_PROMETHEUS_H_

#include <string>

#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::tools {

// Metric names are "scopedfs_" + the counter's name (+ "_total" for
// counters); a name's {label="value"} part stays as it is. Per-rule
// decisions (stats.rule_hits) are
//   scopedfs_rule_hits_total{rule="ID",outcome="allowed|redacted|denied|hidden"}
//   scopedfs_rule_last_hit_timestamp_seconds{rule="ID"}  (rules hit at least once)
// with rule="(default)" for the default action. Families sorted, one
// "# TYPE" line each (and "# HELP" where scopedctl knows what it means).
std::string RenderPrometheus(const v1::HealthResponse& health, const v1::GetStatsResponse& stats);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_PROMETHEUS_H_
