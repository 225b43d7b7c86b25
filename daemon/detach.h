// Going into the background so that `scopedfsd SRC MNT` returns only when
// the daemon is fully serving (Daemon::Start returned), or with the reason
// it could not start.
//
// Without --foreground the process forks before it starts anything: the
// child (a new session, no terminal) starts the daemon and reports over a
// socket pair; the parent waits for that report and exits 0 once the child
// is serving, or prints the child's one error line and exits with its
// status (2), nothing mounted. A child that dies without a word (a crash)
// makes the parent exit 2 too, after unmounting what it left at MOUNTPOINT.
// In the foreground nothing forks: errors are printed where they happen.
#ifndef SCOPEDFS_DAEMON_DETACH_H_
#define SCOPEDFS_DAEMON_DETACH_H_

#include <string>

namespace scopedfs {

class StartReport {
 public:
  // In the foreground: returns at once. Otherwise forks; only the child
  // returns (the parent exits as described at the top). Call it before the
  // process has any thread: only the calling thread survives a fork.
  // `mountpoint`: where a crashed child's mount is cleaned up.
  static StartReport Detach(bool foreground, const std::string& mountpoint);

  // Serving: the child leaves the working directory (chdir /) and the
  // terminal (stdin, stdout, stderr to /dev/null), then lets the parent
  // exit 0.
  void Ready();

  // Could not start: prints "scopedfsd: error: MESSAGE" (the parent does,
  // in the background) and exits with `status`.
  [[noreturn]] void Fail(int status, const std::string& message);

 private:
  explicit StartReport(int fd) : fd_(fd) {}
  int fd_;  // The child's end of the socket pair; -1 in the foreground.
};

// Prints "scopedfsd: error: MESSAGE" on stderr and exits with `status`.
[[noreturn]] void Die(int status, const std::string& message);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_DETACH_H_
