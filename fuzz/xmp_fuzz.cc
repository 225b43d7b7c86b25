// xmp_fuzz: redact::FindXmpLocationSpans on a packet in memory and
// FindXmpLocationRanges on the same packet inside a larger source. Ranges
// stay inside the packet, and the two functions agree (offset by the
// packet's position).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/redact_checks.h"
#include "redact/xmp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace redact = scopedfs::redact;
  const std::string packet(reinterpret_cast<const char*>(data), size);
  std::vector<redact::ByteRange> spans;
  redact::FindXmpLocationSpans(packet, &spans);
  scopedfs::fuzz::CheckWithin(spans, 0, size, "FindXmpLocationSpans");
  scopedfs::fuzz::CheckNormalizeAndZero(spans, packet);

  const std::string prefix = "<x:xmpmeta>";  // must not leak into the packet
  const std::string source_bytes = prefix + packet + "</x:xmpmeta><a/>";
  const redact::StringSource source(source_bytes);
  std::vector<redact::ByteRange> ranges;
  const absl::Status s = redact::FindXmpLocationRanges(
      source, prefix.size(), size, &ranges);
  FUZZ_CHECK(s.ok(), "FindXmpLocationRanges: %s",
             std::string(s.message()).c_str());
  scopedfs::fuzz::CheckWithin(ranges, prefix.size(), prefix.size() + size,
                              "FindXmpLocationRanges");
  std::vector<redact::ByteRange> shifted = spans;
  for (redact::ByteRange& r : shifted) r.offset += prefix.size();
  FUZZ_CHECK(redact::Normalize(shifted) == redact::Normalize(ranges),
             "FindXmpLocationRanges and FindXmpLocationSpans disagree");
  return 0;
}
