#include "daemon/redaction_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace scopedfs {

int ProfileBits(const redact::Profile& profile) {
  const bool allowlist = profile.mode == redact::Profile::Mode::kAllowlist;
  return (profile.exif_gps ? 1 : 0) | (profile.xmp_location ? 2 : 0) |
         (profile.video_location ? 4 : 0) | (allowlist ? 8 : 0) |
         (profile.keep_capture_time ? 16 : 0);
}

RedactionCache::Key RedactionCache::KeyOf(const struct stat& st,
                                          const redact::Profile& profile) {
  return Key{st.st_dev,          st.st_ino,          st.st_size,
             st.st_mtim.tv_sec,  st.st_mtim.tv_nsec, st.st_ctim.tv_sec,
             st.st_ctim.tv_nsec, ProfileBits(profile)};
}

std::shared_ptr<const RedactionPlan> RedactionCache::Find(
    const struct stat& st, const redact::Profile& profile) {
  absl::MutexLock lock(&mu_);
  auto it = cache_.find(KeyOf(st, profile));
  return it != cache_.end() ? it->second : nullptr;
}

absl::StatusOr<std::shared_ptr<const RedactionPlan>> RedactionCache::Plan(
    int fd, const struct stat& st, const redact::Profile& profile) {
  const redact::FdSource source(fd, st.st_size);
  absl::StatusOr<redact::Redaction> planned =
      redact::PlanRedaction(source, profile);
  if (!planned.ok()) return planned.status();
  auto plan = std::make_shared<RedactionPlan>();
  plan->format = planned->format;
  plan->ranges = std::move(planned->ranges);
  return std::shared_ptr<const RedactionPlan>(std::move(plan));
}

void RedactionCache::Remember(const struct stat& st,
                              const redact::Profile& profile,
                              std::shared_ptr<const RedactionPlan> plan) {
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_[KeyOf(st, profile)] = std::move(plan);
}

std::string DescribeRedaction(const std::string& profile_name,
                              const redact::Profile& profile,
                              const RedactionPlan& plan) {
  return absl::StrCat(
      "profile=", profile_name, " mode=",
      profile.mode == redact::Profile::Mode::kAllowlist ? "allowlist"
                                                        : "location",
      " format=", redact::FormatName(plan.format),
      " ranges=", plan.ranges.size());
}

}  // namespace scopedfs
