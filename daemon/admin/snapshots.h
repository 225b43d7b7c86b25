// What GetStats and Health answer, as values: the admin API serves them,
// and the metrics textfile (daemon/metrics_textfile.h) renders them.
#ifndef SCOPEDFS_DAEMON_ADMIN_SNAPSHOTS_H_
#define SCOPEDFS_DAEMON_ADMIN_SNAPSHOTS_H_

#include "daemon/admin/admin_service.h"
#include "scopedfs/v1/admin.pb.h"

namespace scopedfs::admin {

// Every counter and gauge, the latency histograms, the generation and the
// rule hits (default action last).
v1::GetStatsResponse StatsOf(const AdminContext& ctx);
v1::HealthResponse HealthOf(const AdminContext& ctx);

}  // namespace scopedfs::admin

#endif  // SCOPEDFS_DAEMON_ADMIN_SNAPSHOTS_H_
