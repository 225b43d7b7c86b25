// JPEG: location metadata in APP1 segments, embedded images included.
#ifndef SCOPEDFS_REDACT_JPEG_H_
#define SCOPEDFS_REDACT_JPEG_H_

#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {

// Walks every marker from SOI to the first EOI (fill bytes, markers
// without length, every SOS with its entropy-coded data, so APPn segments
// after any scan are seen) and appends to `out`:
//   APP1 "Exif\0" (any case, after up to 4 junk bytes, as exiftool reads
//     it): the GPS IFD ranges (exif.h); if the EXIF cannot be parsed, the
//     whole APP1 payload (marker and length stay, so readers still skip
//     the segment).
//   APP1 XMP ("http://ns.adobe.com/xap/1.0/\0"): the location ranges of the
//     packet (xmp.h).
//   APP1 Extended XMP ("http://ns.adobe.com/xmp/extension/\0"): the chunks
//     of one GUID are put together; if the whole has a location property or
//     cannot be parsed, the data of every chunk of that GUID.
//   Any other APP1 that exiftool reads as XMP ("XMP\0" or "http" header,
//     or a payload holding "<?xpacket", "<x:xmpmeta", "<rdf:RDF" or
//     "<exif:"): the packet's location ranges from its first tag, else the
//     whole payload.
// A segment cut off by the end of the file has its remaining payload zeroed
// when it is one of these. Errors on a missing marker or a bad segment
// length before the first SOS (the caller fails closed); after it, such a
// spot zeroes the rest of the file.
// Embedded JPEGs after the first EOI (MPF secondary images, which exiftool
// -ee reads) get the same treatment: those the APP2 "MPF\0" index lists
// (MPEntry offsets are relative to the index's TIFF header; nested MPF
// followed to depth 2) and every "SOI + APPn" found in the bytes after the
// EOI that no listed image covers; at most 64 in all. An embedded image
// that cannot be walked, one too many or too deep zeroes every byte after
// the first EOI.
// Not covered: IPTC-IIM in APP13.
absl::Status FindJpegLocationRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

// kAllowlist (redact/README.md). Walks every marker from SOI (fill bytes,
// standalone TEM/RSTn, every SOS with its entropy-coded data, so segments
// between progressive scans are seen) and keeps: markers and lengths,
// SOFn/DHT/DAC/DQT/DRI/DNL/DHP/EXP/JPEG-LS segments, scans, APP0
// JFIF/JFXX, APP2 ICC_PROFILE, APP14 Adobe, and in APP1 EXIF the identifier
// and the EXIF allowlist (exif.h). Zeroes the payload of every other APPn
// and COM (XMP, Extended XMP, MPF, IPTC, vendor) and every byte after the
// first EOI (MPF images, trailers). A cut segment, a missing marker or a
// bad length: everything from there to the end. Errors only without SOI.
absl::Status FindJpegAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_JPEG_H_
