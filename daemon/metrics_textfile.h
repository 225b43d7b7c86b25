// --metrics_textfile=PATH: the daemon's metrics in the Prometheus text
// format (metrics/prometheus_text.h, the same as `scopedctl status
// --prometheus`), rewritten every --metrics_interval, for node_exporter's
// textfile collector (Debian: /var/lib/prometheus/node-exporter/*.prom).
//
// Each write is atomic: a temp file in the same directory (created with
// O_EXCL, mode 0644: node_exporter runs as its own user), then rename(2)
// over PATH, so the collector never reads half a file and a symlink at
// PATH is replaced, never followed. The temp name does not end in ".prom",
// so the collector never picks one up. At a clean stop the file is written
// a last time with scopedfs_up 0; a daemon killed outright leaves its last
// file, whose age node_exporter exports (node_textfile_mtime_seconds): alert
// on that (README, "Metrics and alerts").
//
// Out of descriptors (EMFILE) is when the file matters most, and writing it
// takes one: the writer keeps one in reserve (an open /dev/null), frees it
// just before making the temp file and takes it back after. A request
// thread may grab the freed slot first; the write then fails and is
// retried at the next interval (the file's age tells).
#ifndef SCOPEDFS_DAEMON_METRICS_TEXTFILE_H_
#define SCOPEDFS_DAEMON_METRICS_TEXTFILE_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace scopedfs {

class MetricsTextfile {
 public:
  // `render(up)` makes the file's text (`up`: false for the last write).
  using Render = std::function<std::string(bool up)>;

  // Writes PATH once (an error here is returned: a bad path fails the
  // start), then every `interval` from a thread of its own; later errors
  // are logged (once a second at most) and retried. `path` is absolute and
  // `interval` at least a second (DaemonOptionsFromFlags checks both).
  static absl::StatusOr<std::unique_ptr<MetricsTextfile>> Start(
      std::string path, absl::Duration interval, Render render);
  // Stops the thread and writes the last file (scopedfs_up 0).
  ~MetricsTextfile();
  MetricsTextfile(const MetricsTextfile&) = delete;
  MetricsTextfile& operator=(const MetricsTextfile&) = delete;

  // Replaces `path` with `text` atomically (see the top).
  static absl::Status WriteAtomically(const std::string& path, const std::string& text);
  // WriteAtomically with the reserved descriptor freed meanwhile.
  absl::Status Write(bool up);

 private:
  MetricsTextfile(std::string path, absl::Duration interval, Render render)
      : path_(std::move(path)), interval_(interval), render_(std::move(render)) {}

  const std::string path_;
  const absl::Duration interval_;
  const Render render_;
  int reserve_fd_ = -1;  // Freed for each write (see the top).
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_METRICS_TEXTFILE_H_
