#include "redact/redact.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "redact/bmp.h"
#include "redact/exif.h"
#include "redact/gif.h"
#include "redact/isobmff.h"
#include "redact/jpeg.h"
#include "redact/matroska.h"
#include "redact/png.h"
#include "redact/riff.h"

namespace scopedfs::redact {
namespace {

bool StartsWith(absl::string_view s, absl::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

using Finder = absl::Status (*)(const Source&, const Profile&,
                                std::vector<ByteRange>*);

// The redactor of each format, per mode. Formats without a location-only
// parser use their allowlist redactor in both modes.
struct Redactor {
  Format format;
  absl::string_view name;
  Finder allowlist;
  Finder location_only;
};

constexpr Redactor kRedactors[] = {
    {Format::kJpeg, "jpeg", FindJpegAllowlistRanges, FindJpegLocationRanges},
    {Format::kPng, "png", FindPngAllowlistRanges, FindPngLocationRanges},
    {Format::kGif, "gif", FindGifAllowlistRanges, FindGifAllowlistRanges},
    {Format::kWebp, "webp", FindWebpAllowlistRanges, FindWebpAllowlistRanges},
    {Format::kBmp, "bmp", FindBmpAllowlistRanges, FindBmpAllowlistRanges},
    {Format::kTiff, "tiff", FindTiffAllowlistRanges, FindTiffLocationRanges},
    {Format::kIsoBmff, "isobmff", FindIsoBmffAllowlistRanges,
     FindIsoBmffLocationRanges},
    {Format::kMatroska, "matroska", FindMatroskaAllowlistRanges,
     FindMatroskaAllowlistRanges},
    {Format::kAvi, "avi", FindAviAllowlistRanges, FindAviAllowlistRanges},
};

const Redactor* RedactorOf(Format format) {
  for (const Redactor& r : kRedactors) {
    if (r.format == format) return &r;
  }
  return nullptr;
}

}  // namespace

absl::string_view FormatName(Format format) {
  const Redactor* r = RedactorOf(format);
  return r != nullptr ? r->name : "unknown";
}

bool HasRedactor(Format format) { return RedactorOf(format) != nullptr; }

Format DetectFormat(const Source& source) {
  std::string head;
  if (!source.Read(0, std::min<uint64_t>(source.size(), 16), &head).ok()) {
    return Format::kUnknown;
  }
  absl::string_view h(head);
  if (StartsWith(h, "\xff\xd8\xff")) return Format::kJpeg;
  if (StartsWith(h, absl::string_view("\x89PNG\r\n\x1a\n", 8))) {
    return Format::kPng;
  }
  if (StartsWith(h, "GIF87a") || StartsWith(h, "GIF89a")) return Format::kGif;
  if (h.size() >= 12 && StartsWith(h, "RIFF")) {
    if (h.substr(8, 4) == "WEBP") return Format::kWebp;
    if (h.substr(8, 4) == "AVI ") return Format::kAvi;
  }
  if (StartsWith(h, "BM") && h.size() >= 14) return Format::kBmp;
  // TIFF and the TIFF-based raw formats that keep a TIFF header (Olympus
  // ORF "IIRO"/"IIRS", Panasonic RW2 "IIU\0" use their own magic).
  if (StartsWith(h, absl::string_view("II*\0", 4)) ||
      StartsWith(h, absl::string_view("MM\0*", 4)) ||
      StartsWith(h, absl::string_view("IIRO", 4)) ||
      StartsWith(h, absl::string_view("IIRS", 4)) ||
      StartsWith(h, absl::string_view("MMOR", 4)) ||
      StartsWith(h, absl::string_view("IIU\0", 4))) {
    return Format::kTiff;
  }
  if (StartsWith(h, "\x1A\x45\xDF\xA3")) return Format::kMatroska;
  // ISO-BMFF starts with a box: size, then the type. Old QuickTime files
  // may lack ftyp and start with one of the others.
  if (h.size() >= 8) {
    absl::string_view type = h.substr(4, 4);
    for (absl::string_view t :
         {"ftyp", "moov", "mdat", "wide", "free", "skip", "pnot"}) {
      if (type == t) return Format::kIsoBmff;
    }
  }
  return Format::kUnknown;
}

absl::StatusOr<Redaction> PlanRedaction(const Source& source,
                                        const Profile& profile) {
  Redaction out;
  out.format = DetectFormat(source);
  const Redactor* redactor = RedactorOf(out.format);
  if (redactor == nullptr) {
    return absl::FailedPreconditionError(
        "no redactor can vouch for this file's format");
  }
  const Finder find = profile.mode == Profile::Mode::kAllowlist
                          ? redactor->allowlist
                          : redactor->location_only;
  std::vector<ByteRange> ranges;
  if (absl::Status s = find(source, profile, &ranges); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat(redactor->name, ": ", s.message()));
  }
  out.ranges = Normalize(std::move(ranges));
  // Every parser checks its bounds; this is the last line of defence, so a
  // range past the end can never make a caller write past its buffer.
  for (const ByteRange& r : out.ranges) {
    if (r.end() > source.size()) {
      return absl::InternalError("redaction range past the end of the file");
    }
  }
  return out;
}

absl::StatusOr<std::vector<ByteRange>> FindLocationRanges(
    const Source& source, const Profile& profile) {
  Profile location = profile;
  location.mode = Profile::Mode::kLocationOnly;
  absl::StatusOr<Redaction> r = PlanRedaction(source, location);
  if (!r.ok()) return r.status();
  return std::move(r->ranges);
}

}  // namespace scopedfs::redact
