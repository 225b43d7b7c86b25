#include "tests/redact_test_util.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace scopedfs::testing {

std::string ApplyInPieces(const std::string& data,
                          const std::vector<redact::ByteRange>& ranges,
                          size_t piece) {
  std::string out = data;
  for (size_t at = 0; at < out.size(); at += piece) {
    redact::ZeroRanges(ranges, at, &out[at],
                       std::min<size_t>(piece, out.size() - at));
  }
  return out;
}

void ExpectSaneRanges(const std::vector<redact::ByteRange>& ranges,
                      uint64_t size, const std::string& what) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    ASSERT_GT(ranges[i].length, 0u) << what;
    ASSERT_LE(ranges[i].end(), size) << what;
    if (i > 0) {
      ASSERT_GT(ranges[i].offset, ranges[i - 1].end()) << what;
    }
  }
}

}  // namespace scopedfs::testing
