// redact_fuzz: the entry point the daemon uses, redact::PlanRedaction, on
// any bytes (DetectFormat picks the parser), in both modes and with each
// part of the location-only profile alone. Checks that the ranges are normalized and
// inside the file, and that Normalize/ZeroRanges zero exactly those bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/redact_checks.h"
#include "redact/redact.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using scopedfs::redact::Profile;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const scopedfs::redact::StringSource source(bytes);
  (void)scopedfs::redact::DetectFormat(source);
  Profile profiles[6];
  for (int i = 1; i <= 3; ++i) {
    profiles[i].mode = Profile::Mode::kLocationOnly;
    profiles[i].exif_gps = i == 1;
    profiles[i].xmp_location = i == 2;
    profiles[i].video_location = i == 3;
  }
  profiles[4].mode = Profile::Mode::kLocationOnly;
  profiles[5].keep_capture_time = true;
  for (const Profile& profile : profiles) {
    auto plan = scopedfs::redact::PlanRedaction(source, profile);
    if (!plan.ok()) continue;
    scopedfs::fuzz::CheckNormalized(plan->ranges, "PlanRedaction");
    scopedfs::fuzz::CheckWithin(plan->ranges, 0, size, "PlanRedaction");
    scopedfs::fuzz::CheckNormalizeAndZero(plan->ranges, bytes);
  }
  return 0;
}
