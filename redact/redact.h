// Planning a redacted view of a file: the byte ranges the view zeroes.
// Pure library: no FUSE, no file system access beyond Source.
//
// Two modes (Profile::mode):
//   kAllowlist (the default, and the Android policy's): everything the
//     format needs to decode stays, plus a short allowlist of harmless
//     metadata (per format in redact/README.md: orientation, resolution,
//     colour profile, and capture time when the profile keeps it). Every
//     other metadata segment, chunk, box, tag value and trailing byte is
//     zeroed, unknown ones included: the view fails closed by construction
//     instead of chasing the list of places a position can hide.
//   kLocationOnly: zeroes just the location fields this library knows
//     (EXIF GPS, XMP location, ISO-BMFF location boxes and keys), for admins
//     who want the rest of the metadata intact. Formats that only have an
//     allowlist redactor (GIF, WebP, Matroska, ...) use it in both modes.
//
// Fail closed: a format this library cannot positively identify and process
// is an error (the caller must refuse the open), never "nothing to redact".
// Malformed metadata yields the whole metadata container as a range where
// the container's structure still lets decoders skip it, or an error.
// Parsing is bounded: never reads outside the source, caps depth, counts and
// sizes, and cannot loop. Only zeroing: the view has the file's size, and
// every structural length (JPEG segment lengths, PNG chunk lengths and
// types, box and element headers) stays as it was.
#ifndef SCOPEDFS_REDACT_REDACT_H_
#define SCOPEDFS_REDACT_REDACT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "redact/ranges.h"
#include "redact/source.h"

namespace scopedfs::redact {

// What to redact (mirrors scopedfs.v1.RedactionProfile).
struct Profile {
  enum class Mode { kAllowlist, kLocationOnly };
  Mode mode = Mode::kAllowlist;
  // kAllowlist: also keep capture time (EXIF DateTimeOriginal and its
  // sub-seconds/offset, ISO-BMFF mvhd/tkhd/mdhd times are structure anyway).
  bool keep_capture_time = false;
  // kLocationOnly: which location fields.
  bool exif_gps = true;        // EXIF GPS IFD (JPEG, PNG eXIf, TIFF, HEIF).
  bool xmp_location = true;    // XMP exif:GPS* and other location elements.
  bool video_location = true;  // ISO-BMFF loci, ©xyz, gps, QuickTime keys.
};

// Formats identified by content (magic bytes). Every format that
// policy::ClassifyMagic calls IMAGE or VIDEO has a value here; kUnknown
// has no redactor.
enum class Format {
  kUnknown,
  kJpeg,
  kPng,
  kGif,
  kWebp,
  kBmp,
  kTiff,      // TIFF, DNG and TIFF-based raw (CR2, NEF, ARW, ORF, RW2, ...)
  kIsoBmff,   // MP4, MOV, 3GP, HEIF, AVIF, CR3
  kMatroska,  // MKV, WebM
  kAvi,       // RIFF AVI
};

// "jpeg", "png", ... ("unknown").
absl::string_view FormatName(Format format);

// By magic bytes.
Format DetectFormat(const Source& source);

// Whether PlanRedaction can process `format` (false only for kUnknown).
bool HasRedactor(Format format);

struct Redaction {
  Format format = Format::kUnknown;
  std::vector<ByteRange> ranges;  // Normalized, within the source.
};

// The ranges a redacted view of `source` zeroes under `profile`. Errors
// (the caller must refuse the open): kUnknown formats (FailedPrecondition),
// unreadable sources, and structures no safe range can be given for.
absl::StatusOr<Redaction> PlanRedaction(const Source& source,
                                        const Profile& profile);

// PlanRedaction in kLocationOnly mode (profile.mode is ignored), ranges
// only: the location parsers' entry point for their tests and fuzzers.
absl::StatusOr<std::vector<ByteRange>> FindLocationRanges(
    const Source& source, const Profile& profile);

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_REDACT_H_
