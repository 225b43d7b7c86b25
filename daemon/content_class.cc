#include "daemon/content_class.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/string_view.h"
#include "base/retry_eintr.h"
#include "daemon/open_no_atime.h"
#include "daemon/proc_fd_path.h"
#include "policy/file_class.h"

namespace scopedfs {
namespace {

// Enough for every magic ClassifyMagic knows (ftyp compatible brands
// included).
constexpr size_t kHeadBytes = 64;

// Read-only and never blocking on a FIFO or device; without touching the
// file's atime (a lookup must not change what stat shows).
constexpr int kSniffFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

}  // namespace

ContentClasses::Version ContentClasses::VersionOf(const struct stat& st) {
  return {st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
              st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 +
              st.st_ctim.tv_nsec};
}

std::optional<v1::FileClass> ContentClasses::Cached(const struct stat& st) {
  absl::MutexLock lock(&mu_);
  auto it = classes_.find({st.st_dev, st.st_ino});
  if (it != classes_.end() && it->second.first == VersionOf(st)) {
    return it->second.second;
  }
  return std::nullopt;
}

std::optional<v1::FileClass> ContentClasses::At(int dirfd, const char* name,
                                                const struct stat& st) {
  if (auto cls = Cached(st)) return cls;
  return Sniff(OpenatNoAtime(dirfd, name, kSniffFlags | O_NOFOLLOW), st);
}

std::optional<v1::FileClass> ContentClasses::Of(int path_fd) {
  struct stat st;
  if (fstat(path_fd, &st) != 0) return std::nullopt;
  if (auto cls = Cached(st)) return cls;
  // The magic link is the inode itself: O_NOFOLLOW would refuse it.
  return Sniff(
      OpenatNoAtime(AT_FDCWD, ProcFdPath(path_fd).c_str(), kSniffFlags), st);
}

std::optional<v1::FileClass> ContentClasses::Sniff(int fd,
                                                   const struct stat& st) {
  Stats::Add(stats_->content_sniffs);
  if (fd < 0) {
    Stats::Add(stats_->content_sniff_failures);
    return std::nullopt;
  }
  struct stat now;
  char head[kHeadBytes];
  ssize_t n = -1;
  if (fstat(fd, &now) == 0 && now.st_dev == st.st_dev &&
      now.st_ino == st.st_ino) {
    n = RetryEintr([&] { return pread(fd, head, sizeof(head), 0); });
  }
  close(fd);
  if (n < 0) {
    Stats::Add(stats_->content_sniff_failures);
    return std::nullopt;
  }
  const v1::FileClass cls =
      policy::ClassifyMagic(absl::string_view(head, static_cast<size_t>(n)));
  // Remembered under the version the caller saw: if the file changed since,
  // the next decision sees another version and reads it again.
  absl::MutexLock lock(&mu_);
  if (classes_.size() >= kMaxEntries) classes_.clear();
  classes_[{st.st_dev, st.st_ino}] = {VersionOf(st), cls};
  return cls;
}

}  // namespace scopedfs
