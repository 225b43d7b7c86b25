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
// tiff_offset (whole files may use a raw format's magic instead of 42).
// Appends to `out` the ranges holding GPS data of every GPSInfo pointer in
// the main IFD chain, the Exif IFDs and SubIFDs (330): the whole GPS
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

struct Profile;

// kAllowlist for an EXIF structure embedded in another format (JPEG APP1,
// PNG eXIf, WebP EXIF, the HEIF/AVIF Exif item), starting at `tiff_offset`
// and spanning `tiff_length` bytes: appends ranges that zero every byte of
// [tiff_offset, tiff_offset + tiff_length) except the TIFF header, IFD0's
// entry count and the entries (and values) of the allowlisted tags
// (redact/README.md: Orientation, X/YResolution, ResolutionUnit,
// YCbCrPositioning, each only in its standard type and count); IFD0's
// next-IFD offset (IFD1, the thumbnail) is zeroed. With
// profile.keep_capture_time, also IFD0's DateTime, the ExifIFD pointer and
// in the Exif IFD its entry count, ExifVersion and the capture-time tags
// (DateTimeOriginal, CreateDate, OffsetTime*, SubSecTime*). A zeroed entry
// keeps only its 2-byte type (tag 0, count 0: readers skip it; a type 0
// first entry makes exiftool drop the IFD). An EXIF it cannot follow is
// zeroed whole (never an error unless `source` cannot be read).
absl::Status FindExifAllowlistRanges(const Source& source, uint64_t tiff_offset,
                                     uint64_t tiff_length,
                                     const Profile& profile,
                                     std::vector<ByteRange>* out);

// A TIFF file (TIFF, DNG, TIFF-based raw), whole-file views:
//   kAllowlist: computes the bytes to keep and zeroes the rest of the file
//     (fail closed: an old copy of a relocated IFD, values nothing points
//     to, trailers all go). Kept: the TIFF header; in every IFD of the main
//     chain and of SubIFDs (330) its entry count, next pointer (pages and
//     previews stay) and every entry's tag, type and count (libtiff needs
//     tags sorted and known); the whole entries and values of the decode
//     tags (redact/README.md) and, with keep_capture_time, DateTime 306;
//     the image data they locate (strips, tiles, JPEG interchange format),
//     clamped to the file. A dropped tag reads as zeros: its inline value
//     is zeroed, an out-of-line one keeps its offset field and is zeroed
//     where it lies. ExifIFD and GPSInfo pointers lose count and pointer
//     too (readers ignore them: libtiff cannot read an empty IFD); other
//     pointers (Interop, private type-IFD tags) read 0. What dropped
//     entries pointed to (Exif, GPS, MakerNote, XMP, IPTC, IRB,
//     DNGPrivateData) is zeroed at any depth, since nothing kept
//     references it. Errors on IFDs it cannot follow, loops, too many or
//     too deep.
//   kLocationOnly: the GPS IFD (as FindExifGpsRanges, wherever its pointer
//     is) and the XMP packets' location properties.
// Errors on a structure it cannot follow (no container to fall back to).
absl::Status FindTiffAllowlistRanges(const Source& source,
                                     const Profile& profile,
                                     std::vector<ByteRange>* out);
absl::Status FindTiffLocationRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_EXIF_H_
