// Byte ranges to zero in a redacted view, and applying them to a buffer.
#ifndef SCOPEDFS_REDACT_RANGES_H_
#define SCOPEDFS_REDACT_RANGES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace scopedfs::redact {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t end() const { return offset + length; }
  bool operator==(const ByteRange& o) const {
    return offset == o.offset && length == o.length;
  }
};

// Sorted by offset, no empty ranges, overlapping and touching ranges merged.
std::vector<ByteRange> Normalize(std::vector<ByteRange> ranges);

// Zeroes the bytes of `buf` (which holds the file's bytes starting at
// `offset`) that fall inside `ranges` (normalized).
void ZeroRanges(const std::vector<ByteRange>& ranges, uint64_t offset,
                char* buf, size_t length);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_RANGES_H_
