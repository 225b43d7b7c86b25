// ISO-BMFF (MP4, MOV, 3GP, HEIF, AVIF): location boxes and items.
#ifndef SCOPEDFS_REDACT_ISOBMFF_H_
#define SCOPEDFS_REDACT_ISOBMFF_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/source.h"

namespace scopedfs::redact {

struct Profile;

// Appends the ranges of location data in an ISO-BMFF file to `out`.
absl::Status FindIsoBmffLocationRanges(const Source& source,
                                       const Profile& profile,
                                       std::vector<ByteRange>* out);

// kAllowlist: keeps the boxes decoding needs (redact/README.md); zeroes the
// payload of every other box (udta, meta outside HEIF's item structure,
// uuid, unknown and vendor boxes), metadata items (Exif: through
// FindExifAllowlistRanges; XMP and others whole) and trailing bytes.
absl::Status FindIsoBmffAllowlistRanges(const Source& source,
                                        const Profile& profile,
                                        std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_ISOBMFF_H_
