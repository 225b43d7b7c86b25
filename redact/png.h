// PNG: location metadata in eXIf and text chunks.
#ifndef SCOPEDFS_REDACT_PNG_H_
#define SCOPEDFS_REDACT_PNG_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Walks the chunks after the signature up to IEND and appends to `out`
// (chunk length, type and CRC are never touched; the CRC of a chunk with
// zeroed bytes no longer matches, and decoders skip or ignore such an
// ancillary chunk):
//   eXIf: the GPS IFD ranges (exif.h); if the EXIF cannot be parsed, the
//     whole chunk data.
//   tEXt/iTXt "XML:com.adobe.xmp", uncompressed: the packet's location
//     ranges (xmp.h); compressed (zTXt, iTXt): the whole compressed text.
//   tEXt/zTXt/iTXt "Raw profile type exif|APP1|xmp" (ImageMagick's way to
//     carry EXIF/XMP, hex-encoded): the whole chunk data, keyword included.
//   tEXt/zTXt/iTXt whose keyword names a location property (ImageMagick
//     copies properties into chunks such as "exif:GPSLatitude",
//     "photoshop:City": after the last ':' GPS*, City, State, Country,
//     Location, ...; see png.cc): the whole chunk data, keyword included
//     (exiftool then shows a nameless empty "Tag").
// A chunk cut off by the end of the file has the rest of the file zeroed
// when it is one of these. Errors on an impossible chunk length.
// Not covered: IPTC-IIM ("Raw profile type iptc").
absl::Status FindPngLocationRanges(const Source& source,
                                   const Profile& profile,
                                   std::vector<ByteRange>* out);

// kAllowlist (redact/README.md): keeps what decoding needs and the
// allowlisted metadata, zeroes every other segment/chunk payload and every
// byte after the end of the image.
absl::Status FindPngAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_PNG_H_
