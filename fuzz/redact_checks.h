// Invariants shared by the redaction fuzz targets.
#ifndef SCOPEDFS_FUZZ_REDACT_CHECKS_H_
#define SCOPEDFS_FUZZ_REDACT_CHECKS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::fuzz {

// Every range lies inside [lo, hi) and does not wrap around.
inline void CheckWithin(const std::vector<redact::ByteRange>& ranges,
                        uint64_t lo, uint64_t hi, const char* what) {
  for (const redact::ByteRange& r : ranges) {
    FUZZ_CHECK(r.length <= UINT64_MAX - r.offset, "%s: range wraps", what);
    FUZZ_CHECK(r.offset >= lo && r.end() <= hi,
               "%s: range [%llu, %llu) outside [%llu, %llu)", what,
               static_cast<unsigned long long>(r.offset),
               static_cast<unsigned long long>(r.end()),
               static_cast<unsigned long long>(lo),
               static_cast<unsigned long long>(hi));
  }
}

// Sorted, non-empty, neither overlapping nor touching (ranges.h Normalize).
inline void CheckNormalized(const std::vector<redact::ByteRange>& ranges,
                            const char* what) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    FUZZ_CHECK(ranges[i].length > 0, "%s: empty range %zu", what, i);
    if (i > 0) {
      FUZZ_CHECK(ranges[i - 1].end() < ranges[i].offset,
                 "%s: ranges %zu and %zu overlap or touch", what, i - 1, i);
    }
  }
}

// Normalize keeps exactly the bytes covered, and ZeroRanges zeroes exactly
// them, whether the buffer is done whole or in chunks of any size.
inline void CheckNormalizeAndZero(const std::vector<redact::ByteRange>& raw,
                                  const std::string& data) {
  const std::vector<redact::ByteRange> norm = redact::Normalize(raw);
  CheckNormalized(norm, "Normalize");
  std::vector<bool> covered(data.size(), false);
  for (const redact::ByteRange& r : raw) {
    for (uint64_t i = r.offset; i < r.end() && i < data.size(); ++i) {
      covered[i] = true;
    }
  }
  std::string whole = data;
  redact::ZeroRanges(norm, 0, whole.data(), whole.size());
  for (size_t i = 0; i < data.size(); ++i) {
    FUZZ_CHECK(whole[i] == (covered[i] ? '\0' : data[i]),
               "ZeroRanges byte %zu", i);
  }
  const size_t chunk = 1 + data.size() % 61;
  std::string pieces = data;
  for (size_t off = 0; off < pieces.size(); off += chunk) {
    const size_t n = std::min(chunk, pieces.size() - off);
    redact::ZeroRanges(norm, off, pieces.data() + off, n);
  }
  FUZZ_CHECK(pieces == whole, "ZeroRanges in chunks differs");
}

// One whole-file format parser (FindJpegLocationRanges and the like) on any
// bytes: ranges inside the file, normalized and zeroed consistently, and,
// when the input is of that `format`, exactly what FindLocationRanges (the
// dispatcher the daemon calls) returns.
template <typename Parser>
int FuzzFormatParser(const uint8_t* data, size_t size, Parser parser,
                     redact::Format format, const char* name) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const redact::StringSource source(bytes);
  const redact::Profile profile;
  std::vector<redact::ByteRange> out;
  const absl::Status s = parser(source, profile, &out);
  CheckWithin(out, 0, size, name);
  if (!s.ok()) return 0;
  CheckNormalizeAndZero(out, bytes);
  if (redact::DetectFormat(source) == format) {
    auto all = redact::FindLocationRanges(source, profile);
    FUZZ_CHECK(all.ok(), "FindLocationRanges fails where %s did not", name);
    FUZZ_CHECK(*all == redact::Normalize(out), "FindLocationRanges differs from %s", name);
  }
  return 0;
}

}  // namespace scopedfs::fuzz

#endif  // SCOPEDFS_FUZZ_REDACT_CHECKS_H_
