// Helpers the redact/ tests share: applying a plan the way the daemon does,
// and checking a plan's shape.
#ifndef SCOPEDFS_TESTS_REDACT_TEST_UTIL_H_
#define SCOPEDFS_TESTS_REDACT_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "redact/ranges.h"

namespace scopedfs::testing {

// `data` with `ranges` zeroed, applied in pieces of `piece` bytes (odd sizes
// mimic the reads that reach the daemon; data.size() or more: in one go).
std::string ApplyInPieces(const std::string& data,
                          const std::vector<redact::ByteRange>& ranges,
                          size_t piece);

// Fails the test unless `ranges` are normalized (non-empty, sorted, apart)
// and inside [0, size); `what` names the case.
void ExpectSaneRanges(const std::vector<redact::ByteRange>& ranges,
                      uint64_t size, const std::string& what);

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_REDACT_TEST_UTIL_H_
