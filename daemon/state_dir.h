// The daemon's state directory (--state_dir): created 0700 if missing (0710
// with the admin group when --admin_group is given). Holds the applied
// policy and grants, the audit database, the admin socket, the pid file and the last
// stats dump. Files are replaced atomically (temp file, fsync, rename, fsync
// of the directory) so a reader or a crash never sees half a file.
//
// File modes: every file the daemon creates here is 0600, owned by the
// daemon's uid and gid, whatever the umask; only the admin socket is shared
// with the admin group (0660, see admin/admin_server.h): the group needs to
// connect, never to read a file (the audit trail is read through the admin
// API, which checks the peer). Files found with another mode or owner at
// start (an older daemon, a permissive umask, a copy) are fixed, on a
// descriptor opened without following symlinks, and a log line says so.
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
  static constexpr char kPolicyFile[] = "policy.textproto";
  // The grants (v1.GrantList, text format), decided before the policy.
  static constexpr char kGrantsFile[] = "grants.textproto";
  // SQLite adds "-wal" and "-shm" (and, outside WAL mode, "-journal"),
  // created with the database file's mode.
  static constexpr char kAuditDb[] = "audit.db";
  // The admin API's Unix socket (admin/admin_server.h).
  static constexpr char kAdminSocket[] = "admin.sock";
  // The mode of every file above.
  static constexpr mode_t kFileMode = 0600;

  // Creates the directory if needed, locks it (flock on STATE_DIR/lock) for
  // the life of the process (two daemons must never share a state dir), and
  // brings the files above to kFileMode and the daemon's uid and gid,
  // removing temp files a crash left behind. A file above that is a
  // symlink or not a regular file, or whose mode cannot be fixed, is an
  // error.
  static absl::StatusOr<StateDir> Open(const std::string& path);

  const std::string& path() const { return path_; }
  // STATE_DIR/kAuditDb.
  std::string AuditDbPath() const;
  absl::Status WritePid(pid_t pid);
  void RemovePid();
  absl::Status WriteStats(absl::string_view text);
  // Atomically replaces `name` in the directory with `contents` (mode
  // kFileMode).
  absl::Status ReplaceFile(absl::string_view name, absl::string_view contents,
                           bool durable);

 private:
  explicit StateDir(std::string path) : path_(std::move(path)) {}
  // The file-mode pass of Open.
  absl::Status SecureFiles();
  std::string path_;
  // The lock's descriptor stays open (and locked) until the process exits.
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_STATE_DIR_H_
