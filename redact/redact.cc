#include "redact/redact.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "redact/exif.h"
#include "redact/isobmff.h"
#include "redact/jpeg.h"
#include "redact/png.h"
#include "redact/xmp.h"

namespace scopedfs::redact {
namespace {

// TIFF/DNG: the GPS IFD and the XMP packets of the IFD chain. There is no
// "segment" to fall back to, so any error fails closed.
absl::Status FindTiffLocationRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out) {
  if (profile.exif_gps) {
    if (absl::Status s = FindExifGpsRanges(source, 0, source.size(), out);
        !s.ok()) {
      return s;
    }
  }
  if (profile.xmp_location) {
    std::vector<ByteRange> packets;
    if (absl::Status s =
            FindTiffXmpPackets(source, 0, source.size(), &packets);
        !s.ok()) {
      return s;
    }
    for (const ByteRange& p : packets) {
      if (absl::Status s = FindXmpLocationRanges(source, p.offset, p.length,
                                                 out);
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

Format DetectFormat(const Source& source) {
  std::string head;
  if (!source.Read(0, std::min<uint64_t>(source.size(), 12), &head).ok()) {
    return Format::kUnknown;
  }
  absl::string_view h(head);
  if (h.substr(0, 3) == "\xff\xd8\xff") return Format::kJpeg;
  if (h.substr(0, 8) == absl::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return Format::kPng;
  }
  if (h.substr(0, 4) == absl::string_view("II*\0", 4) ||
      h.substr(0, 4) == absl::string_view("MM\0*", 4)) {
    return Format::kTiff;
  }
  // ISO-BMFF starts with a box: size, then the type. Old QuickTime files
  // may lack ftyp and start with one of the others.
  if (h.size() >= 8) {
    absl::string_view type = h.substr(4, 4);
    for (absl::string_view t : {"ftyp", "moov", "mdat", "wide", "free", "skip"}) {
      if (type == t) return Format::kIsoBmff;
    }
  }
  return Format::kUnknown;
}

absl::StatusOr<std::vector<ByteRange>> FindLocationRanges(
    const Source& source, const Profile& profile) {
  std::vector<ByteRange> ranges;
  absl::Status s;
  switch (DetectFormat(source)) {
    case Format::kJpeg:
      s = FindJpegLocationRanges(source, profile, &ranges);
      break;
    case Format::kPng:
      s = FindPngLocationRanges(source, profile, &ranges);
      break;
    case Format::kTiff:
      s = FindTiffLocationRanges(source, profile, &ranges);
      break;
    case Format::kIsoBmff:
      s = FindIsoBmffLocationRanges(source, profile, &ranges);
      break;
    case Format::kUnknown:
      break;
  }
  if (!s.ok()) return s;
  ranges = Normalize(std::move(ranges));
  // Every parser checks its bounds; this is the last line of defence, so a
  // range past the end can never make a caller write past its buffer.
  for (const ByteRange& r : ranges) {
    if (r.end() > source.size()) {
      return absl::InternalError("location range past the end of the file");
    }
  }
  return ranges;
}

}  // namespace scopedfs::redact
