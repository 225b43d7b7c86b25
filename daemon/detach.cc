#include "daemon/detach.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"
#include "daemon/command_line.h"

namespace scopedfs {
namespace {

// The report: one byte, then for kFailed the exit status (one byte) and
// the message, then the child closes its end.
constexpr char kReady = 'R';
constexpr char kFailed = 'E';
constexpr int kExitStart = 2;

void SendAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    // MSG_NOSIGNAL: a parent that is gone must not kill the daemon.
    const ssize_t n = RetryEintr([&] {
      return send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    });
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// The parent: waits for the child's report and exits with what it says.
[[noreturn]] void AwaitReport(int fd, pid_t child, const std::string& mountpoint) {
  std::string report;
  char buf[4096];
  while (true) {
    const ssize_t n = RetryEintr([&] { return read(fd, buf, sizeof(buf)); });
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
    if (report[0] == kReady) std::_Exit(0);
  }
  if (report.size() >= 2 && report[0] == kFailed) {
    std::fprintf(stderr, "scopedfsd: error: %s\n", report.c_str() + 2);
    std::_Exit(static_cast<unsigned char>(report[1]));
  }
  // Died without a word: say how, and leave no mount of it behind.
  int status = 0;
  std::string how = "for an unknown reason";
  if (RetryEintr([&] { return waitpid(child, &status, 0); }) == child) {
    if (WIFSIGNALED(status)) {
      how = absl::StrCat("killed by signal ", WTERMSIG(status), " (",
                         strsignal(WTERMSIG(status)), ")");
    } else if (WIFEXITED(status)) {
      how = absl::StrCat("with status ", WEXITSTATUS(status));
    }
  }
  if (ProbeMountpoint(mountpoint) == MountpointState::kStaleFuseMount) {
    umount2(mountpoint.c_str(), MNT_DETACH);
  }
  std::fprintf(stderr, "scopedfsd: error: the daemon exited while starting, %s\n",
               how.c_str());
  std::_Exit(kExitStart);
}

}  // namespace

void Die(int status, const std::string& message) {
  std::fprintf(stderr, "scopedfsd: error: %s\n", message.c_str());
  std::exit(status);
}

StartReport StartReport::Detach(bool foreground, const std::string& mountpoint) {
  if (foreground) return StartReport(-1);
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    Die(kExitStart, absl::StrCat("cannot detach: socketpair: ", strerror(errno)));
  }
  std::fflush(nullptr);  // Nothing buffered is written twice.
  const pid_t child = fork();
  if (child < 0) Die(kExitStart, absl::StrCat("cannot detach: fork: ", strerror(errno)));
  if (child > 0) {
    close(fds[1]);
    AwaitReport(fds[0], child, mountpoint);
  }
  close(fds[0]);
  setsid();  // No controlling terminal: its hangup or ^C is not ours.
  return StartReport(fds[1]);
}

void StartReport::Ready() {
  if (fd_ < 0) return;
  if (chdir("/") != 0) {
    // Harmless: every path the daemon keeps is absolute.
  }
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    for (int std_fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
      dup2(null_fd, std_fd);
    }
    if (null_fd > STDERR_FILENO) close(null_fd);
  }
  SendAll(fd_, std::string(1, kReady));
  close(fd_);
  fd_ = -1;
}

void StartReport::Fail(int status, const std::string& message) {
  if (fd_ < 0) Die(status, message);
  SendAll(fd_, absl::StrCat(std::string(1, kFailed),
                            std::string(1, static_cast<char>(status)), message));
  close(fd_);
  std::exit(status);
}

}  // namespace scopedfs
