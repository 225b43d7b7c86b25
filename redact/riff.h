// RIFF containers: WebP and AVI, allowlist redactors (both modes).
#ifndef SCOPEDFS_REDACT_RIFF_H_
#define SCOPEDFS_REDACT_RIFF_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// WebP: keeps VP8, VP8L, VP8X, ALPH, ANIM, ANMF (frame data), ICCP; the
// EXIF chunk through FindExifAllowlistRanges; zeroes the payload of XMP and
// every other chunk, and every byte after the RIFF size.
absl::Status FindWebpAllowlistRanges(const Source& source,
                                     const Profile& profile,
                                     std::vector<ByteRange>* out);
// AVI: keeps the hdrl list (avih, strl/strh/strf), movi and idx1; zeroes
// the payload of INFO lists, JUNK, strd/strn and every other chunk, and
// bytes after the RIFF size(s).
absl::Status FindAviAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_RIFF_H_
