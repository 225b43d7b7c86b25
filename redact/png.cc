#include "redact/png.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "redact/exif.h"
#include "redact/xmp.h"

namespace scopedfs::redact {
namespace {

constexpr int kMaxChunks = 1 << 20;
constexpr uint64_t kMaxTextHeader = 1024;  // keyword, flags, language, ...
constexpr absl::string_view kSignature("\x89PNG\r\n\x1a\n", 8);

enum class Text { kOther, kXmp, kRawExif, kRawXmp, kExifProperty,
                  kXmpProperty };

// ImageMagick also copies every EXIF/XMP property into a tEXt chunk of its
// own ("exif:GPSLatitude", "photoshop:City", ...).
bool IsLocationProperty(absl::string_view local) {
  if (absl::StartsWithIgnoreCase(local, "GPS")) return true;
  for (absl::string_view name :
       {"City", "State", "Country", "CountryCode", "CountryName", "Location",
        "LocationShown", "LocationCreated", "LocationName", "ProvinceState",
        "Sublocation", "WorldRegion"}) {
    if (absl::EqualsIgnoreCase(local, name)) return true;
  }
  return false;
}

Text Classify(absl::string_view keyword) {
  // exiftool matches these keywords in any case.
  if (absl::EqualsIgnoreCase(keyword, "XML:com.adobe.xmp")) return Text::kXmp;
  if (size_t colon = keyword.rfind(':'); colon != absl::string_view::npos &&
      IsLocationProperty(keyword.substr(colon + 1))) {
    return absl::StartsWithIgnoreCase(keyword, "exif:") ? Text::kExifProperty
                                                        : Text::kXmpProperty;
  }
  constexpr absl::string_view kRaw = "Raw profile type ";
  if (!absl::StartsWithIgnoreCase(keyword, kRaw)) return Text::kOther;
  std::string type = absl::AsciiStrToLower(keyword.substr(kRaw.size()));
  if (type == "exif" || type == "app1") return Text::kRawExif;
  if (type == "xmp") return Text::kRawXmp;
  return Text::kOther;
}

// Returns the offset of the byte after the `n`th NUL in `s`, or npos.
size_t AfterNul(absl::string_view s, int n, size_t from = 0) {
  for (size_t i = from; i < s.size(); ++i) {
    if (s[i] == '\0' && --n == 0) return i + 1;
  }
  return absl::string_view::npos;
}

// A text chunk's data at [data, data + length): adds what to zero.
absl::Status TextChunk(const Source& source, const Profile& profile,
                       absl::string_view type, uint64_t data, uint64_t length,
                       bool cut, std::vector<ByteRange>* out) {
  std::string head;
  if (absl::Status s = source.Read(
          data, std::min<uint64_t>(length, kMaxTextHeader), &head);
      !s.ok()) {
    return s;
  }
  size_t after_keyword = AfterNul(head, 1);
  if (after_keyword == absl::string_view::npos || after_keyword > 80) {
    return absl::OkStatus();  // no valid keyword: readers ignore the chunk
  }
  Text kind = Classify(absl::string_view(head.data(), after_keyword - 1));
  const bool exif = kind == Text::kRawExif || kind == Text::kExifProperty;
  if (kind == Text::kOther || (exif && !profile.exif_gps) ||
      (!exif && !profile.xmp_location)) {
    return absl::OkStatus();
  }
  // A property chunk or a raw profile goes whole, keyword included: readers
  // then show a nameless empty tag rather than "GPSLatitude" with no value.
  if (kind != Text::kXmp) {
    out->push_back({data, length});
    return absl::OkStatus();
  }
  // Everything after the keyword, unless we find an uncompressed packet.
  const ByteRange rest = {data + after_keyword, length - after_keyword};
  uint64_t text = absl::string_view::npos;
  if (type == "tEXt") {
    text = after_keyword;
  } else if (type == "iTXt" && after_keyword + 2 <= head.size() &&
             head[after_keyword] == 0) {  // compression flag
    text = AfterNul(head, 2, after_keyword + 2);  // language, translation
  }
  if (cut || text == absl::string_view::npos) {
    out->push_back(rest);
    return absl::OkStatus();
  }
  if (!FindXmpLocationRanges(source, data + text, length - text, out).ok()) {
    out->push_back(rest);
  }
  return absl::OkStatus();
}

uint32_t Be32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

absl::Status FindPngLocationRanges(const Source& source,
                                   const Profile& profile,
                                   std::vector<ByteRange>* out) {
  const uint64_t size = source.size();
  std::string buf;
  if (absl::Status s = source.Read(0, std::min<uint64_t>(size, 8), &buf);
      !s.ok() || buf != kSignature) {
    return absl::InvalidArgumentError("not a PNG");
  }
  uint64_t pos = 8;
  for (int n = 0;; ++n) {
    if (n == kMaxChunks) return absl::InvalidArgumentError("too many chunks");
    if (size - pos < 8) break;  // cut off: nothing more a reader could see
    if (absl::Status s = source.Read(pos, 8, &buf); !s.ok()) return s;
    uint32_t length = Be32(buf, 0);
    if (length > 0x7fffffff) return absl::InvalidArgumentError("chunk length");
    const std::string type = buf.substr(4, 4);
    const uint64_t data = pos + 8;
    const bool cut = data + length + 4 > size;  // data or CRC missing
    const uint64_t data_length = std::min<uint64_t>(length, size - data);

    if (absl::EqualsIgnoreCase(type, "zxIf") && profile.exif_gps) {
      // Compressed EXIF (an early proposal exiftool still reads): we do not
      // inflate it, so it goes whole.
      out->push_back({data, data_length});
    } else if (absl::EqualsIgnoreCase(type, "eXIf") && profile.exif_gps) {
      // Some writers keep JPEG's "Exif\0\0" in front of the TIFF header.
      uint64_t skip = 0;
      if (data_length >= 6 &&
          source.Read(data, 6, &buf).ok() && buf == absl::string_view("Exif\0\0", 6)) {
        skip = 6;
      }
      if (cut || !FindExifGpsRanges(source, data + skip, data_length - skip,
                                    out)
                      .ok()) {
        out->push_back({data, data_length});
      }
    } else if (type == "tEXt" || type == "zTXt" || type == "iTXt") {
      if (absl::Status s = TextChunk(source, profile, type, data, data_length,
                                     cut, out);
          !s.ok()) {
        return s;
      }
    }
    if (cut) break;
    if (type == "IEND") {
      // Nothing decodes after IEND, but readers find metadata there (a
      // copied XMP chunk, an EXIF trailer): it goes, in this mode too.
      const uint64_t end = data + length + 4;
      if (end < source.size()) out->push_back({end, source.size() - end});
      break;
    }
    pos = data + length + 4;
  }
  return absl::OkStatus();
}

namespace {

// Chunks decoding (and showing: colour, gamma, aspect, animation) needs.
// Not sPLT: a suggested palette for quantizing, which no decoder needs, and
// whose name is free text.
bool IsKeptChunk(absl::string_view type) {
  for (absl::string_view kept :
       {"IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP",
        "sBIT", "bKGD", "pHYs", "cICP", "mDCv", "cLLi", "acTL", "fcTL",
        "fdAT"}) {
    if (type == kept) return true;
  }
  return false;
}

}  // namespace

absl::Status FindPngAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out) {
  const uint64_t size = source.size();
  std::string buf;
  if (size < 8 || !source.Read(0, 8, &buf).ok() || buf != kSignature) {
    return absl::InvalidArgumentError("not a PNG");
  }
  uint64_t pos = 8;
  for (int n = 0; pos < size; ++n) {
    // Cut off, too many chunks or an impossible length: decoders stop
    // here, so every byte from here on goes.
    if (n == kMaxChunks || size - pos < 8) {
      out->push_back({pos, size - pos});
      break;
    }
    if (absl::Status s = source.Read(pos, 8, &buf); !s.ok()) return s;
    const uint32_t length = Be32(buf, 0);
    if (length > 0x7fffffff) {
      out->push_back({pos, size - pos});
      break;
    }
    const std::string type = buf.substr(4, 4);
    const uint64_t data = pos + 8;
    const uint64_t end = data + length + 4;  // after the CRC
    if (end > size) {  // data or CRC missing: the rest of the chunk goes
      if (!IsKeptChunk(type)) out->push_back({data, size - data});
      break;
    }
    if (absl::EqualsIgnoreCase(type, "eXIf")) {  // exiftool: any case
      // Some writers keep JPEG's "Exif\0\0" in front of the TIFF header.
      uint64_t skip = 0;
      if (length >= 6) {
        if (absl::Status s = source.Read(data, 6, &buf); !s.ok()) return s;
        if (buf == absl::string_view("Exif\0\0", 6)) skip = 6;
      }
      if (absl::Status s = FindExifAllowlistRanges(
              source, data + skip, length - skip, profile, out);
          !s.ok()) {
        return s;
      }
    } else if (!IsKeptChunk(type)) {  // zxIf, text, tIME, caBX, unknown
      out->push_back({data, length});
    }
    if (type == "IEND") {  // nothing after the image stays
      if (end < size) out->push_back({end, size - end});
      break;
    }
    pos = end;
  }
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
