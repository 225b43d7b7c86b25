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
//   eXIf in any case (exIf, EXIF, ...; exiftool reads them all): the GPS
//     IFD ranges (exif.h); if the EXIF cannot be parsed, the whole chunk
//     data. zxIf (compressed EXIF) in any case: the whole chunk data.
//   tEXt/iTXt "XML:com.adobe.xmp" (any case), uncompressed: the packet's
//     location ranges (xmp.h); compressed (zTXt, iTXt): the whole
//     compressed text.
//   tEXt/zTXt/iTXt "Raw profile type exif|APP1|xmp" (any case;
//     ImageMagick's way to carry EXIF/XMP, hex-encoded): the whole chunk
//     data, keyword included.
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

// kAllowlist (redact/README.md): keeps IHDR, PLTE, IDAT, IEND, tRNS,
// gAMA, cHRM, sRGB, iCCP, sBIT, bKGD, pHYs, sPLT, cICP, mDCv, cLLi and
// APNG's acTL/fcTL/fdAT; eXIf (any case, an "Exif\0\0" prefix skipped)
// through the EXIF allowlist (exif.h); zeroes the data of every other chunk
// (text, tIME, zxIf, caBX, unknown; length, type and CRC stay) and every
// byte after IEND. A cut chunk that is not kept: its data to the end; a
// cut header or impossible length: everything from it. Errors only
// without the signature.
absl::Status FindPngAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_PNG_H_
