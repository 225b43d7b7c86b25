// Integration-test support: a real scopedfsd mounted in a fresh temp dir, and
// clients that act as other users (fork + setgroups/setresgid/setresuid).
//
// Every mount is torn down in the destructor (SIGTERM, then a lazy unmount if
// the daemon did not), so a failing test never leaves a mount behind. Temp
// dirs live under /tmp (0755) rather than TEST_TMPDIR: other uids must be able
// to reach them, and socket paths must stay short.
#ifndef SCOPEDFS_TESTS_MOUNT_FIXTURE_H_
#define SCOPEDFS_TESTS_MOUNT_FIXTURE_H_

#include <errno.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/file_util.h"
#include "tests/loop_xfs.h"

namespace scopedfs::testing {

// Empty when mounting can work here; else why not (no /dev/fuse, not root).
std::string WhyMountingCannotRun();

// Path of the scopedfsd binary from the test's runfiles.
std::string DaemonBinary();

// A fresh directory under /tmp, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class ScopedfsMount {
 public:
  // Mounts a fresh backing dir (mode 0777, so other uids can create) at a
  // fresh mountpoint. `flags` go to scopedfsd before SOURCE MOUNTPOINT;
  // without a --policy= among them the mount allows everything (the backing
  // file system's own rules still apply).
  static absl::StatusOr<std::unique_ptr<ScopedfsMount>> Start(
      const std::vector<std::string>& flags = {});
  // Like Start, but the daemon's stderr (of this and every restarted daemon)
  // goes to a file in the temp dir instead of the test's stderr; read it with
  // DaemonStderr().
  static absl::StatusOr<std::unique_ptr<ScopedfsMount>> StartCapturingStderr(
      const std::vector<std::string>& flags = {});
  // How the daemon process is started, beyond its flags.
  struct DaemonOptions {
    bool capture_stderr = false;  // As StartCapturingStderr.
    int umask = -1;               // The daemon's umask (-1: the test's).
    // The backing dir is the root of a fresh loop-mounted xfs (with
    // reflink, tests/loop_xfs.h) rather than a directory of /tmp's file
    // system. Check WhyLoopXfsCannotRun() first.
    bool backing_on_xfs = false;
  };
  static absl::StatusOr<std::unique_ptr<ScopedfsMount>> StartWith(
      const std::vector<std::string>& flags, const DaemonOptions& options);
  ~ScopedfsMount();

  // Everything the daemon(s) wrote to stderr so far (StartCapturingStderr
  // only; empty otherwise).
  std::string DaemonStderr() const;
  // The daemon's thread count (/proc/PID/status Threads), -1 if unknown.
  int DaemonThreads() const;

  const std::string& backing() const { return backing_; }
  const std::string& mount() const { return mount_; }
  const std::string& state_dir() const { return state_dir_; }
  std::string B(const std::string& rel) const { return backing_ + "/" + rel; }
  std::string M(const std::string& rel) const { return mount_ + "/" + rel; }
  pid_t pid() const { return pid_; }
  std::string AdminSocket() const { return state_dir_ + "/admin.sock"; }
  // A scratch path in the mount's temp dir (outside backing and mount).
  std::string Scratch(const std::string& name) const { return dir_->Sub(name); }

  // Asks the daemon for its counters (SIGUSR1) and returns them.
  absl::StatusOr<std::map<std::string, uint64_t>> Stats();

  // Stops the daemon with `sig` and returns its exit status (or -signal).
  int Stop(int sig);

  // Stops the daemon (SIGTERM; a no-op if it is gone, e.g. after
  // Stop(SIGKILL)) and starts a new one on the same backing dir, mountpoint
  // and state dir, with the same flags. A mount left stale by a killed
  // daemon is the new daemon's to clean up.
  absl::Status Restart();

 private:
  ScopedfsMount() = default;
  absl::Status Launch();
  std::vector<std::string> flags_;
  int umask_ = -1;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<LoopXfs> xfs_;  // After dir_: unmounted before it goes.
  std::string backing_, mount_, state_dir_;
  pid_t pid_ = -1;
  uint64_t last_stats_sequence_ = 0;
  bool capture_stderr_ = false;
};

// True if `path` is currently a FUSE mount point (per /proc/self/mountinfo).
bool IsFuseMounted(const std::string& path);

struct Identity {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};
inline Identity User(uid_t uid) { return {uid, uid, {}}; }

// Switches this (child) process to `who` for good: groups, gid, then uid.
// False if any step failed.
bool BecomeIdentity(const Identity& who);

// Runs `fn` in a child process with the given identity and returns what `fn`
// returns (use 0 for success, an errno otherwise); 255 if the child could
// not switch identity, 254 if it died.
int RunAs(const Identity& who, const std::function<int()>& fn);

// The errno of a failed call whose result is `res`, or 0: use as
// `return ErrnoOf(open(...));` in RunAs lambdas. errno is read here, after
// the call (passing errno as a second argument would read it in an
// unspecified order, before the call with GCC).
inline int ErrnoOf(long res) { return res < 0 ? errno : 0; }


}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_MOUNT_FIXTURE_H_
