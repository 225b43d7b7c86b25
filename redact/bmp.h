// BMP: no metadata containers; an allowlist redactor (both modes).
#ifndef SCOPEDFS_REDACT_BMP_H_
#define SCOPEDFS_REDACT_BMP_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Keeps the headers, colour table, pixel array and an embedded ICC profile
// (BITMAPV5); zeroes any byte outside them (gaps, trailing data).
absl::Status FindBmpAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_BMP_H_
