#include "daemon/metrics_textfile.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"
#include "daemon/log.h"

namespace scopedfs {

absl::Status MetricsTextfile::WriteAtomically(const std::string& path,
                                              const std::string& text) {
  const auto fail = [&](const std::string& what) {
    return absl::InternalError(absl::StrCat("--metrics_textfile: cannot ", what,
                                            " for ", path, ": ", std::strerror(errno)));
  };
  // Beside the target (rename stays in one file system); not "*.prom".
  std::string temp = absl::StrCat(path, ".tmp-XXXXXX");
  const int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return fail("create a temp file");
  bool ok = fchmod(fd, 0644) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    const ssize_t n = RetryEintr([&] { return write(fd, text.data() + done, text.size() - done); });
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  const int saved = errno;
  if (close(fd) != 0) ok = false;
  if (!ok || rename(temp.c_str(), path.c_str()) != 0) {
    const absl::Status st = fail(ok ? "rename the temp file" : "write a temp file");
    errno = saved;
    unlink(temp.c_str());
    return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsTextfile>> MetricsTextfile::Start(
    std::string path, absl::Duration interval, Render render) {
  if (absl::Status st = WriteAtomically(path, render(true)); !st.ok()) return st;
  std::unique_ptr<MetricsTextfile> m(
      new MetricsTextfile(std::move(path), interval, std::move(render)));
  m->reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  m->thread_ = std::thread([self = m.get()] {
    while (!self->stop_.WaitForNotificationWithTimeout(self->interval_)) {
      if (absl::Status st = self->Write(true); !st.ok()) {
        SFS_LOG_EVERY_SEC(kWarning, "%s", st.message());
      }
    }
  });
  SFS_LOG(kInfo, "metrics: %s, rewritten every %s", m->path_,
          absl::FormatDuration(m->interval_));
  return m;
}

absl::Status MetricsTextfile::Write(bool up) {
  // Freed before rendering too: counting open descriptors opens one.
  if (reserve_fd_ >= 0) close(reserve_fd_);
  absl::Status st = WriteAtomically(path_, render_(up));
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return st;
}

MetricsTextfile::~MetricsTextfile() {
  stop_.Notify();
  thread_.join();
  if (absl::Status st = Write(false); !st.ok()) SFS_LOG(kWarning, "%s", st.message());
  if (reserve_fd_ >= 0) close(reserve_fd_);
}

}  // namespace scopedfs
