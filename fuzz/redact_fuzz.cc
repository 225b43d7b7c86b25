// redact_fuzz: the entry point the daemon uses, redact::FindLocationRanges,
// on any bytes (DetectFormat picks the parser), with the full profile and
// with each part of it alone. Checks that the ranges are normalized and
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
  Profile profiles[4];
  profiles[1] = {true, false, false};
  profiles[2] = {false, true, false};
  profiles[3] = {false, false, true};
  for (const Profile& profile : profiles) {
    auto ranges = scopedfs::redact::FindLocationRanges(source, profile);
    if (!ranges.ok()) continue;
    scopedfs::fuzz::CheckNormalized(*ranges, "FindLocationRanges");
    scopedfs::fuzz::CheckWithin(*ranges, 0, size, "FindLocationRanges");
    scopedfs::fuzz::CheckNormalizeAndZero(*ranges, bytes);
  }
  return 0;
}
