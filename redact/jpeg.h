// JPEG: location metadata in the APP1 segments before the first scan.
#ifndef SCOPEDFS_REDACT_JPEG_H_
#define SCOPEDFS_REDACT_JPEG_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Walks the markers from SOI to SOS (or EOI) and appends to `out`:
//   APP1 "Exif\0\0": the GPS IFD ranges (exif.h); if the EXIF cannot be
//     parsed, the whole APP1 payload (marker and length stay, so readers
//     still skip the segment).
//   APP1 XMP ("http://ns.adobe.com/xap/1.0/\0"): the location ranges of the
//     packet (xmp.h).
//   APP1 Extended XMP ("http://ns.adobe.com/xmp/extension/\0"): the chunks
//     of one GUID are put together; if the whole has a location property or
//     cannot be parsed, the data of every chunk of that GUID.
// A segment cut off by the end of the file has its remaining payload zeroed
// when it is one of these. Errors on a missing marker or a bad segment
// length before SOS (the caller fails closed).
// Not covered: metadata after the first SOS (e.g. MPF secondary images),
// IPTC-IIM in APP13.
absl::Status FindJpegLocationRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

// kAllowlist (redact/README.md): keeps what decoding needs and the
// allowlisted metadata, zeroes every other segment/chunk payload and every
// byte after the end of the image.
absl::Status FindJpegAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_JPEG_H_
