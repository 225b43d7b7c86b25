// EXIF (a TIFF structure): the GPS IFD's byte ranges. Shared by JPEG APP1,
// PNG eXIf, plain TIFF/DNG files and the HEIF/AVIF Exif item.
#ifndef SCOPEDFS_REDACT_EXIF_H_
#define SCOPEDFS_REDACT_EXIF_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "redact/ranges.h"
#include "redact/source.h"

namespace scopedfs::redact {

// The TIFF structure starts at `tiff_offset` ("II*\0" or "MM\0*") and spans
// `tiff_length` bytes of `source`; offsets inside it are relative to
// tiff_offset. Appends to `out` the ranges holding GPS data: the whole GPS
// IFD — its entry count (zeroed, so readers see an empty IFD and report no
// GPS tag at all), its 12-byte entries (tag, type, count, inline value), its
// next-IFD offset — and every out-of-line value an entry points to. The
// GPSInfo pointer in IFD0 stays, so the structure still parses. Returns an
// error on a structure it cannot follow safely (the caller then redacts the
// whole EXIF segment or fails closed).
absl::Status FindExifGpsRanges(const Source& source, uint64_t tiff_offset,
                               uint64_t tiff_length,
                               std::vector<ByteRange>* out);

// Appends to `packets` the values of tag 700 (XMLPacket: an XMP packet) in
// the IFDs of the main chain (IFD0, IFD1, ...), as absolute ranges of
// `source`, for the XMP parser. Same bounds and errors as above.
absl::Status FindTiffXmpPackets(const Source& source, uint64_t tiff_offset,
                                uint64_t tiff_length,
                                std::vector<ByteRange>* packets);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_EXIF_H_
