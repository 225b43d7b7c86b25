// The daemon's counters, gauges and histograms in the Prometheus text
// exposition format (version 0.0.4), for node_exporter's textfile
// collector: one rendering for `scopedctl status --prometheus` and for the
// file `scopedfsd --metrics_textfile=PATH` keeps up to date.
#ifndef SCOPEDFS_METRICS_PROMETHEUS_TEXT_H_
#define SCOPEDFS_METRICS_PROMETHEUS_TEXT_H_

#include <string>

#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::metrics {

// Metric names are "scopedfs_" + the counter's name (+ "_total" for
// counters); a name's {label="value"} part stays as it is. Per-rule
// decisions (stats.rule_hits) are
//   scopedfs_rule_hits_total{rule="ID",outcome="allowed|redacted|denied|hidden"}
//   scopedfs_rule_last_hit_timestamp_seconds{rule="ID"}  (rules hit at least once)
// with rule="(default)" for the default action. Families sorted, one
// "# TYPE" line each (and "# HELP" where it is known what it means).
std::string RenderPrometheus(const v1::HealthResponse& health, const v1::GetStatsResponse& stats);

}  // namespace scopedfs::metrics

#endif  // SCOPEDFS_METRICS_PROMETHEUS_TEXT_H_
