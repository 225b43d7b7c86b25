// Finding the location metadata in a file: the byte ranges a redacted view
// must zero. Pure library: no FUSE, no file system access beyond Source.
//
// Fail closed: a parse error never means "nothing to redact". Malformed
// metadata yields the whole metadata segment as a range where that is safe
// (the file's structure, e.g. JPEG segment lengths and ISO-BMFF box sizes,
// stays intact so parsers still skip it), or an error, on which the caller
// must deny the open. Parsing is bounded: it never reads outside the
// source, caps depth, counts and sizes, and cannot loop.
#ifndef SCOPEDFS_REDACT_REDACT_H_
#define SCOPEDFS_REDACT_REDACT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "redact/ranges.h"
#include "redact/source.h"

namespace scopedfs::redact {

// What to redact (mirrors scopedfs.v1.RedactionProfile).
struct Profile {
  bool exif_gps = true;        // EXIF GPS IFD (JPEG, PNG eXIf, TIFF, HEIF).
  bool xmp_location = true;    // XMP exif:GPS* and other location elements.
  bool video_location = true;  // ISO-BMFF loci, ©xyz, gps, QuickTime keys.
};

enum class Format { kUnknown, kJpeg, kPng, kTiff, kIsoBmff };

// By magic bytes.
Format DetectFormat(const Source& source);

// The normalized ranges to zero. Unknown formats have none.
absl::StatusOr<std::vector<ByteRange>> FindLocationRanges(
    const Source& source, const Profile& profile);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_REDACT_H_
