#include "daemon/redacted_view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>

#include "daemon/log.h"
#include "daemon/proc_fd_path.h"

namespace scopedfs {
namespace {

// A file that keeps changing under every attempt gets EIO: no bytes we
// could not vouch for.
constexpr int kAttempts = 16;
// The barrier's read: one block at offset 0, aligned for O_DIRECT on
// devices with 4 KiB sectors.
constexpr size_t kBlock = 4096;

}  // namespace

bool SameVersion(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

RedactedView::~RedactedView() {
  if (direct_fd_ >= 0) close(direct_fd_);
}

std::shared_ptr<const RedactionPlan> RedactedView::plan() const {
  absl::MutexLock lock(&mu_);
  return plan_;
}

void RedactedView::Barrier(int fd) {
  int direct;
  {
    absl::MutexLock lock(&mu_);
    if (direct_fd_ < 0 && !direct_failed_) {
      direct_fd_ = open(ProcFdPath(fd).c_str(),
                        O_RDONLY | O_DIRECT | O_CLOEXEC | O_NOATIME);
      if (direct_fd_ < 0 && errno == EPERM) {
        direct_fd_ = open(ProcFdPath(fd).c_str(),
                          O_RDONLY | O_DIRECT | O_CLOEXEC);
      }
      if (direct_fd_ < 0) {
        direct_failed_ = true;
        SFS_LOG_EVERY_SEC(kWarning,
                          "the backing file system refuses O_DIRECT (%s): "
                          "redacted reads of files being written rely on "
                          "timestamps alone",
                          std::strerror(errno));
      }
    }
    direct = direct_fd_;
  }
  if (direct < 0) return;
  void* block = nullptr;
  if (posix_memalign(&block, kBlock, kBlock) != 0) return;
  // The result does not matter (a short or failed read still took the
  // lock, or the file system has none to take).
  ssize_t n;
  do {
    n = pread(direct, block, kBlock, 0);
  } while (n < 0 && errno == EINTR);
  free(block);
}

int RedactedView::Begin(int fd, struct stat* before) {
  if (fstat(fd, before) != 0) return errno;
  if (writers_->Any(before->st_dev, before->st_ino)) Barrier(fd);
  return 0;
}

absl::StatusOr<std::shared_ptr<const RedactionPlan>> RedactedView::PlanOf(
    int fd, const struct stat& st, bool* fresh) {
  *fresh = false;
  {
    absl::MutexLock lock(&mu_);
    if (plan_ != nullptr && SameVersion(st, st_)) return plan_;
  }
  if (std::shared_ptr<const RedactionPlan> known = cache_->Find(st, profile_)) {
    return known;
  }
  *fresh = true;
  return RedactionCache::Plan(fd, st, profile_);
}

void RedactedView::Keep(const struct stat& st,
                        std::shared_ptr<const RedactionPlan> plan, bool fresh) {
  if (fresh) cache_->Remember(st, profile_, plan);
  absl::MutexLock lock(&mu_);
  if (plan_ != nullptr && !SameVersion(st, st_)) {
    Stats::Add(stats_->redacted_replans);
  }
  st_ = st;
  plan_ = std::move(plan);
}

absl::Status RedactedView::Prepare(int fd) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    struct stat before, after;
    if (int err = Begin(fd, &before); err != 0) {
      return absl::UnavailableError(std::strerror(err));
    }
    bool fresh;
    absl::StatusOr<std::shared_ptr<const RedactionPlan>> plan =
        PlanOf(fd, before, &fresh);
    if (fstat(fd, &after) != 0) return absl::UnavailableError(std::strerror(errno));
    if (!SameVersion(before, after)) continue;  // Planned a moving target.
    if (!plan.ok()) return plan.status();
    Keep(before, *std::move(plan), fresh);
    return absl::OkStatus();
  }
  return absl::UnavailableError("the file kept changing while it was planned");
}

ssize_t RedactedView::Read(int fd, char* buf, size_t size, off_t off) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    struct stat before, after;
    if (int err = Begin(fd, &before); err != 0) return -err;
    bool fresh;
    absl::StatusOr<std::shared_ptr<const RedactionPlan>> plan =
        PlanOf(fd, before, &fresh);
    ssize_t n;
    do {
      n = pread(fd, buf, size, off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (fstat(fd, &after) != 0) return -errno;
    if (!SameVersion(before, after)) continue;  // Changed while we read.
    if (!plan.ok()) {
      SFS_LOG_EVERY_SEC(kWarning,
                        "a redacted file changed and cannot be planned "
                        "again, its reads fail: %s",
                        plan.status().ToString());
      return -EIO;
    }
    redact::ZeroRanges((*plan)->ranges, static_cast<uint64_t>(off), buf,
                       static_cast<size_t>(n));
    Keep(before, *std::move(plan), fresh);
    return n;
  }
  Stats::Add(stats_->redacted_reads_unstable);
  SFS_LOG_EVERY_SEC(kInfo,
                    "a redacted file kept changing through %d read attempts: "
                    "that read fails with EIO",
                    kAttempts);
  return -EIO;
}

}  // namespace scopedfs
