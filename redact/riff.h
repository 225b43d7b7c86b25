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
// AVI: keeps the hdrl list (avih, strl/strh/strf/indx/vprp, odml), movi
// lists (stream data chunks, rec lists, ix## indexes) and idx1, in the
// first RIFF and in OpenDML "AVIX" RIFFs after it; zeroes the payload of
// INFO lists, JUNK, strd/strn and every other chunk (list types stay), and
// bytes after the last RIFF.
// Both: chunk headers stay; a chunk overrunning its parent zeroes the rest
// of the parent; a chunk cut by the end of the file ends there.
absl::Status FindAviAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_RIFF_H_
