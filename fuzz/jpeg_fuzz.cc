// jpeg_fuzz: redact::FindJpegLocationRanges on any bytes (not only those
// that start with a JPEG SOI). Ranges must lie inside the file, and when the
// input is a JPEG, FindLocationRanges must return them normalized.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/redact_checks.h"
#include "redact/jpeg.h"
#include "redact/redact.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace redact = scopedfs::redact;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const redact::StringSource source(bytes);
  const redact::Profile profile;
  std::vector<redact::ByteRange> out;
  const absl::Status s = redact::FindJpegLocationRanges(source, profile, &out);
  scopedfs::fuzz::CheckWithin(out, 0, size, "FindJpegLocationRanges");
  if (!s.ok()) return 0;
  scopedfs::fuzz::CheckNormalizeAndZero(out, bytes);
  if (redact::DetectFormat(source) == redact::Format::kJpeg) {
    auto all = redact::FindLocationRanges(source, profile);
    FUZZ_CHECK(all.ok(), "FindLocationRanges fails where the JPEG parser did not");
    FUZZ_CHECK(*all == redact::Normalize(out), "FindLocationRanges differs");
  }
  return 0;
}
