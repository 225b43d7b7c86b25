#include "redact/ranges.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace scopedfs::redact {

std::vector<ByteRange> Normalize(std::vector<ByteRange> ranges) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  std::vector<ByteRange> out;
  for (ByteRange& r : ranges) {
    if (r.length == 0) continue;
    // Clamp instead of wrapping, so end() is always meaningful.
    if (r.length > kMax - r.offset) r.length = kMax - r.offset;
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const ByteRange& a, const ByteRange& b) {
    return a.offset < b.offset;
  });
  std::vector<ByteRange> merged;
  for (const ByteRange& r : out) {
    if (!merged.empty() && r.offset <= merged.back().end()) {
      uint64_t end = std::max(merged.back().end(), r.end());
      merged.back().length = end - merged.back().offset;
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

void ZeroRanges(const std::vector<ByteRange>& ranges, uint64_t offset,
                char* buf, size_t length) {
  const uint64_t buf_end = offset + length;
  // First range that ends after the buffer starts.
  auto it = std::upper_bound(
      ranges.begin(), ranges.end(), offset,
      [](uint64_t off, const ByteRange& r) { return off < r.end(); });
  for (; it != ranges.end() && it->offset < buf_end; ++it) {
    uint64_t begin = std::max(it->offset, offset);
    uint64_t end = std::min(it->end(), buf_end);
    if (begin < end) std::memset(buf + (begin - offset), 0, end - begin);
  }
}

}  // namespace scopedfs::redact
