#include "daemon/reflinked_views.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"
#include "base/unique_fd.h"
#include "daemon/log.h"
#include "daemon/proc_fd_path.h"

namespace scopedfs {
namespace {

// A file that keeps changing while it is cloned gets a copy anyway (the
// copy is planned on its own bytes), but that copy is not kept: its version
// has no stat of its own.
constexpr int kCloneAttempts = 3;


absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(err)));
}

// Overwrites `ranges` of `fd` (a file of `size` bytes) with zeros.
absl::Status ZeroRangesOf(int fd, const RangeList& ranges, uint64_t size) {
  static const char kZeros[64 << 10] = {};
  for (const redact::ByteRange& r : ranges) {
    uint64_t off = std::min<uint64_t>(r.offset, size);
    const uint64_t end = std::min<uint64_t>(r.offset + r.length, size);
    while (off < end) {
      const size_t chunk = std::min<uint64_t>(end - off, sizeof(kZeros));
      const ssize_t n = RetryEintr(
          [&] { return pwrite(fd, kZeros, chunk, static_cast<off_t>(off)); });
      if (n <= 0) {
        return absl::DataLossError(absl::StrCat(
            "zeroing the copy: ", n < 0 ? std::strerror(errno) : "short write"));
      }
      off += static_cast<uint64_t>(n);
    }
  }
  return absl::OkStatus();
}

}  // namespace

ViewCopy::ViewCopy(int fd, const struct stat& version, bool exact,
                   int profile_bits, std::shared_ptr<std::atomic<int64_t>> live)
    : fd_(fd),
      version_(version),
      exact_(exact),
      profile_bits_(profile_bits),
      live_(std::move(live)) {
  live_->fetch_add(1, std::memory_order_relaxed);
}

ViewCopy::~ViewCopy() {
  close(fd_);
  live_->fetch_sub(1, std::memory_order_relaxed);
}

bool ViewCopy::IsVersion(const struct stat& st) const {
  return exact_ && st.st_dev == version_.st_dev &&
         st.st_ino == version_.st_ino && SameVersion(st, version_);
}

bool ViewCopy::Matches(const struct stat& st,
                       const redact::Profile& profile) const {
  return IsVersion(st) && ProfileBits(profile) == profile_bits_;
}

ReflinkedViews::ReflinkedViews(int dir_fd, size_t max_copies, Stats* stats)
    : dir_fd_(dir_fd), max_copies_(max_copies), stats_(stats) {}

bool ReflinkedViews::MakeRoom() {
  const auto full = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return live() + making_ >= static_cast<int64_t>(max_copies_);
  };
  for (auto file = kept_.begin(); file != kept_.end() && full();) {
    Kept& copies = file->second;
    for (auto it = copies.begin(); it != copies.end() && full();) {
      // Only the table holds it: no open reads it.
      if (it->second.use_count() == 1) {
        copies.erase(it++);
      } else {
        ++it;
      }
    }
    if (copies.empty()) {
      kept_.erase(file++);
    } else {
      ++file;
    }
  }
  return !full();
}

void ReflinkedViews::FileChanged(dev_t dev, ino_t ino) {
  if (max_copies_ == 0) return;
  absl::MutexLock lock(&mu_);
  kept_.erase(FileId{dev, ino});
}

absl::StatusOr<std::shared_ptr<const ViewCopy>> ReflinkedViews::CopyOf(
    int fd, const RedactedView& view) {
  if (max_copies_ == 0) return absl::UnavailableError("copies are off");
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("fstat", errno);
  const FileId file{st.st_dev, st.st_ino};
  const int bits = ProfileBits(view.profile());
  {
    absl::MutexLock lock(&mu_);
    if (cannot_reflink_.contains(st.st_dev)) {
      return absl::UnavailableError("the file system cannot reflink");
    }
    if (auto it = kept_.find(file); it != kept_.end()) {
      if (auto copy = it->second.find(bits); copy != it->second.end()) {
        if (copy->second->Matches(st, view.profile())) return copy->second;
        it->second.erase(copy);  // An older version: never asked for again.
      }
    }
    if (!MakeRoom()) {
      Stats::Add(stats_->redacted_copies_full);
      return absl::UnavailableError(
          absl::StrCat("all ", max_copies_, " copies are in use"));
    }
    ++making_;
  }
  absl::StatusOr<std::shared_ptr<const ViewCopy>> copy = Make(fd, st, view);
  absl::MutexLock lock(&mu_);
  --making_;
  if (copy.ok() && (*copy)->IsVersion(st)) kept_[file][bits] = *copy;
  return copy;
}

absl::StatusOr<std::shared_ptr<const ViewCopy>> ReflinkedViews::Make(
    int fd, const struct stat& first, const RedactedView& view) {
  // Unnamed, so nothing can open it by a name, and it vanishes with its
  // last descriptor (also when the daemon dies).
  UniqueFd rw(openat(dir_fd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0400));
  if (rw.get() < 0) return ErrnoStatus("O_TMPFILE", errno);
  struct stat before = first;
  bool held_still = false;
  for (int attempt = 0; attempt < kCloneAttempts && !held_still; ++attempt) {
    if (attempt > 0 && fstat(fd, &before) != 0) return ErrnoStatus("fstat", errno);
    if (ioctl(rw.get(), FICLONE, fd) != 0) {
      const int err = errno;
      if (err == EOPNOTSUPP || err == ENOTTY || err == EINVAL || err == EXDEV) {
        absl::MutexLock lock(&mu_);
        cannot_reflink_.insert(first.st_dev);
        SFS_LOG(kInfo,
                "files on device %d:%d cannot be reflinked next to SOURCE's "
                "root (%s): their redacted views are served by the daemon",
                major(first.st_dev), minor(first.st_dev), std::strerror(err));
      }
      return ErrnoStatus("FICLONE", err);
    }
    struct stat after;
    if (fstat(fd, &after) != 0) return ErrnoStatus("fstat", errno);
    held_still = SameVersion(before, after);
  }
  struct stat copied;
  if (fstat(rw.get(), &copied) != 0) return ErrnoStatus("fstat", errno);
  // The plan the open made fits if it was for exactly the version cloned;
  // otherwise the copy's own bytes are planned.
  std::shared_ptr<const RedactionPlan> plan =
      held_still ? view.PlanOfVersion(before) : nullptr;
  if (plan == nullptr) {
    absl::StatusOr<std::shared_ptr<const RedactionPlan>> planned =
        RedactionCache::Plan(rw.get(), copied, view.profile());
    if (!planned.ok()) return planned.status();
    plan = *std::move(planned);
  }
  if (absl::Status zeroed = ZeroRangesOf(rw.get(), plan->ranges,
                                         static_cast<uint64_t>(copied.st_size));
      !zeroed.ok()) {
    return zeroed;
  }
  // The backing file is read-only: no client write, and no writable shared
  // mapping, can ever reach it.
  UniqueFd ro(open(ProcFdPath(rw.get()).c_str(), O_RDONLY | O_CLOEXEC));
  if (ro.get() < 0) return ErrnoStatus("reopening the copy", errno);
  Stats::Add(stats_->redacted_copies_made);
  // Not kept unless `held_still`: no single version was cloned otherwise.
  struct stat version = before;
  version.st_size = copied.st_size;
  version.st_blocks = copied.st_blocks;
  return std::make_shared<const ViewCopy>(ro.release(), version, held_still,
                                          ProfileBits(view.profile()), live_);
}

}  // namespace scopedfs
