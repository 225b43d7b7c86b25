#include "daemon/redacted_view.h"

#include <errno.h>
#include <unistd.h>

#include "daemon/log.h"

namespace scopedfs {
namespace {

// A file that keeps changing under every attempt gets EIO: no bytes we
// could not vouch for.
constexpr int kAttempts = 8;

}  // namespace

bool SameVersion(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

std::shared_ptr<const RedactionPlan> RedactedView::PlanOf(
    int fd, const struct stat& st) {
  {
    absl::MutexLock lock(&mu_);
    if (SameVersion(st, st_)) return plan_;
  }
  absl::StatusOr<std::shared_ptr<const RedactionPlan>> plan =
      cache_->PlanFor(fd, st, profile_);
  if (!plan.ok()) {
    SFS_LOG_EVERY_SEC(kWarning,
                      "a redacted file changed and cannot be planned again, "
                      "its reads fail: %s",
                      plan.status().ToString());
    return nullptr;
  }
  Stats::Add(stats_->redacted_replans);
  absl::MutexLock lock(&mu_);
  st_ = st;
  plan_ = *plan;
  return plan_;
}

ssize_t RedactedView::Read(int fd, char* buf, size_t size, off_t off) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    struct stat before;
    if (fstat(fd, &before) != 0) return -errno;
    std::shared_ptr<const RedactionPlan> plan = PlanOf(fd, before);
    if (plan == nullptr) return -EIO;
    ssize_t n;
    do {
      n = pread(fd, buf, size, off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    struct stat after;
    if (fstat(fd, &after) != 0) return -errno;
    if (!SameVersion(before, after)) continue;  // Changed while we read.
    redact::ZeroRanges(plan->ranges, static_cast<uint64_t>(off), buf,
                       static_cast<size_t>(n));
    return n;
  }
  return -EIO;
}

}  // namespace scopedfs
