#include "daemon/redaction_cache.h"

namespace scopedfs {

absl::StatusOr<std::shared_ptr<const RangeList>> RedactionCache::RangesFor(
    int fd, const struct stat& st, const redact::Profile& profile) {
  const int profile_bits = (profile.exif_gps ? 1 : 0) |
                           (profile.xmp_location ? 2 : 0) |
                           (profile.video_location ? 4 : 0);
  const Key key{st.st_dev,         st.st_ino,          st.st_size,
                st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec,
                st.st_ctim.tv_nsec, profile_bits};
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
  }
  // Parsed outside the lock: a slow file must not stall other opens.
  const redact::FdSource source(fd, st.st_size);
  auto plan = redact::PlanRedaction(source, profile);
  if (!plan.ok()) return plan.status();
  auto shared = std::make_shared<const RangeList>(std::move(plan->ranges));
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_[key] = shared;
  return shared;
}

}  // namespace scopedfs
