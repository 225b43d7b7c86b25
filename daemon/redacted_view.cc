#include "daemon/redacted_view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/string_view.h"
#include "base/retry_eintr.h"
#include "daemon/log.h"
#include "daemon/open_no_atime.h"
#include "daemon/proc_fd_path.h"

namespace scopedfs {
namespace {

// A file that keeps changing under every attempt is read from a snapshot
// (while a writer is open) or gets EIO: no bytes we could not vouch for.
constexpr int kAttempts = 8;
// The largest file a snapshot read copies whole.
constexpr uint64_t kMaxSnapshot = 64 << 20;
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

std::shared_ptr<const RedactionPlan> RedactedView::PlanOfVersion(
    const struct stat& st) const {
  absl::MutexLock lock(&mu_);
  return plan_ != nullptr && SameVersion(st, st_) ? plan_ : nullptr;
}

int RedactedView::DirectFd(int fd) {
  {
    absl::MutexLock lock(&mu_);
    if (direct_fd_ < 0 && !direct_failed_) {
      direct_fd_ = OpenatNoAtime(AT_FDCWD, ProcFdPath(fd).c_str(),
                                 O_RDONLY | O_DIRECT | O_CLOEXEC);
      if (direct_fd_ < 0) {
        direct_failed_ = true;
        SFS_LOG_EVERY_SEC(kWarning,
                          "the backing file system refuses O_DIRECT (%s): "
                          "redacted reads of files being written rely on "
                          "timestamps alone",
                          std::strerror(errno));
      }
    }
    return direct_fd_;
  }
}

void RedactedView::Barrier(int fd) {
  const int direct = DirectFd(fd);
  if (direct < 0) return;
  void* block = nullptr;
  if (posix_memalign(&block, kBlock, kBlock) != 0) return;
  // The result does not matter (a short or failed read still took the
  // lock, or the file system has none to take).
  RetryEintr([&] { return pread(direct, block, kBlock, 0); });
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
  // Its writer keeps rewriting it: vouch for the format on a snapshot; the
  // reads plan their own versions.
  struct stat st;
  Snapshot snap;
  if (fstat(fd, &st) == 0 && writers_->Any(st.st_dev, st.st_ino) &&
      TakeSnapshot(fd, &snap)) {
    if (!snap.plan.ok()) return snap.plan.status();
    absl::MutexLock lock(&mu_);
    st_ = {};  // No version: the first read plans its own.
    plan_ = *snap.plan;
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
    const ssize_t n = RetryEintr([&] { return pread(fd, buf, size, off); });
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
  struct stat st;
  if (fstat(fd, &st) == 0 && writers_->Any(st.st_dev, st.st_ino)) {
    const ssize_t n = SnapshotRead(fd, buf, size, off);
    if (n != -EAGAIN) return n;
  }
  Stats::Add(stats_->redacted_reads_unstable);
  SFS_LOG_EVERY_SEC(kInfo,
                    "a redacted file kept changing through %d read attempts: "
                    "that read fails with EIO",
                    kAttempts);
  return -EIO;
}

bool RedactedView::TakeSnapshot(int fd, Snapshot* out) {
  const int direct = DirectFd(fd);
  struct stat st;
  if (direct < 0 || fstat(fd, &st) != 0) return false;
  if (static_cast<uint64_t>(st.st_size) > kMaxSnapshot) return false;
  // One block more than the size: a file the writer grows meanwhile shows
  // as a short read of what was there, never as a torn one.
  const size_t length =
      (static_cast<size_t>(st.st_size) / kBlock + 1) * kBlock;
  void* raw = nullptr;
  if (posix_memalign(&raw, kBlock, length) != 0) return false;
  out->bytes = {static_cast<char*>(raw), &free};
  const ssize_t n =
      RetryEintr([&] { return pread(direct, out->bytes.get(), length, 0); });
  if (n < 0) return false;
  out->size = static_cast<size_t>(n);
  const redact::StringSource source(
      absl::string_view(out->bytes.get(), out->size));
  absl::StatusOr<redact::Redaction> planned =
      redact::PlanRedaction(source, profile_);
  if (!planned.ok()) {
    out->plan = planned.status();
    return true;
  }
  auto plan = std::make_shared<RedactionPlan>();
  plan->format = planned->format;
  plan->ranges = std::move(planned->ranges);
  out->plan = std::shared_ptr<const RedactionPlan>(std::move(plan));
  Stats::Add(stats_->redacted_snapshot_reads);
  return true;
}

ssize_t RedactedView::SnapshotRead(int fd, char* buf, size_t size, off_t off) {
  Snapshot snap;
  if (!TakeSnapshot(fd, &snap)) return -EAGAIN;
  if (!snap.plan.ok()) return -EIO;  // This version cannot be vouched for.
  if (static_cast<uint64_t>(off) >= snap.size) return 0;
  const size_t got = std::min<size_t>(size, snap.size - static_cast<size_t>(off));
  std::memcpy(buf, snap.bytes.get() + off, got);
  redact::ZeroRanges((*snap.plan)->ranges, static_cast<uint64_t>(off), buf,
                     got);
  return static_cast<ssize_t>(got);
}

}  // namespace scopedfs
