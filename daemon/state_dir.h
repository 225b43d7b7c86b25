// The daemon's state directory (--state_dir): created 0700 if missing. Holds
// the pid file and the last stats dump today; the applied policy and the
// audit database will live here too. Files are replaced atomically (temp
// file, fsync, rename, fsync of the directory) so a reader or a crash never
// sees half a file.
#ifndef SCOPEDFS_DAEMON_STATE_DIR_H_
#define SCOPEDFS_DAEMON_STATE_DIR_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scopedfs {

class StateDir {
 public:
  static constexpr char kPidFile[] = "scopedfsd.pid";
  static constexpr char kStatsFile[] = "stats";
  static constexpr char kLockFile[] = "lock";

  // Creates the directory if needed and locks it (flock on STATE_DIR/lock)
  // for the life of the process: two daemons must never share a state dir.
  static absl::StatusOr<StateDir> Open(const std::string& path);

  const std::string& path() const { return path_; }
  absl::Status WritePid(pid_t pid);
  void RemovePid();
  absl::Status WriteStats(absl::string_view text);
  // Atomically replaces `name` in the directory with `contents`.
  absl::Status ReplaceFile(absl::string_view name, absl::string_view contents,
                           bool durable);

 private:
  explicit StateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  // The lock's descriptor stays open (and locked) until the process exits.
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_STATE_DIR_H_
