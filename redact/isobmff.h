// ISO-BMFF (MP4, MOV, 3GP, HEIF, AVIF, CR3): location boxes and items, and
// the allowlist redactor.
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
// uuid but Canon CR3's structural children, unknown and vendor boxes),
// the data of non-image items (Exif: through FindExifAllowlistRanges; XMP
// and others whole) and trailing bytes. A box it cannot follow zeroes the
// rest of its parent; unparseable iinf/iloc, items stored by reference or
// outside the file are errors.
absl::Status FindIsoBmffAllowlistRanges(const Source& source,
                                        const Profile& profile,
                                        std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_ISOBMFF_H_
