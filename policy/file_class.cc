#include "policy/file_class.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace scopedfs::policy {
namespace {

struct ExtClass {
  const char* ext;
  v1::FileClass cls;
};

constexpr ExtClass kExtensions[] = {
    {"jpg", v1::IMAGE},     {"jpeg", v1::IMAGE},    {"png", v1::IMAGE},
    {"gif", v1::IMAGE},     {"webp", v1::IMAGE},    {"heic", v1::IMAGE},
    {"heif", v1::IMAGE},    {"avif", v1::IMAGE},    {"dng", v1::IMAGE},
    {"tiff", v1::IMAGE},    {"tif", v1::IMAGE},     {"bmp", v1::IMAGE},
    {"raw", v1::IMAGE},     {"mp4", v1::VIDEO},     {"mov", v1::VIDEO},
    {"m4v", v1::VIDEO},     {"mkv", v1::VIDEO},     {"webm", v1::VIDEO},
    {"avi", v1::VIDEO},     {"3gp", v1::VIDEO},     {"mp3", v1::AUDIO},
    {"m4a", v1::AUDIO},     {"aac", v1::AUDIO},     {"flac", v1::AUDIO},
    {"ogg", v1::AUDIO},     {"opus", v1::AUDIO},    {"wav", v1::AUDIO},
    {"pdf", v1::DOCUMENT},  {"txt", v1::DOCUMENT},  {"md", v1::DOCUMENT},
    {"doc", v1::DOCUMENT},  {"docx", v1::DOCUMENT}, {"odt", v1::DOCUMENT},
    {"xls", v1::DOCUMENT},  {"xlsx", v1::DOCUMENT}, {"ods", v1::DOCUMENT},
    {"ppt", v1::DOCUMENT},  {"pptx", v1::DOCUMENT}, {"odp", v1::DOCUMENT},
    {"rtf", v1::DOCUMENT},  {"csv", v1::DOCUMENT},  {"epub", v1::DOCUMENT},
    // Image and video formats, including those no redactor parses: a
    // redaction rule then applies to them and the open is refused.
    {"jpe", v1::IMAGE},     {"apng", v1::IMAGE},    {"hif", v1::IMAGE},
    {"jxl", v1::IMAGE},     {"jp2", v1::IMAGE},     {"j2k", v1::IMAGE},
    {"psd", v1::IMAGE},     {"cr2", v1::IMAGE},     {"cr3", v1::IMAGE},
    {"crw", v1::IMAGE},     {"nef", v1::IMAGE},     {"nrw", v1::IMAGE},
    {"arw", v1::IMAGE},     {"srf", v1::IMAGE},     {"sr2", v1::IMAGE},
    {"orf", v1::IMAGE},     {"rw2", v1::IMAGE},     {"raf", v1::IMAGE},
    {"pef", v1::IMAGE},     {"srw", v1::IMAGE},     {"x3f", v1::IMAGE},
    {"3g2", v1::VIDEO},     {"mpg", v1::VIDEO},     {"mpeg", v1::VIDEO},
    {"wmv", v1::VIDEO},     {"asf", v1::VIDEO},     {"flv", v1::VIDEO},
    {"mts", v1::VIDEO},     {"m2ts", v1::VIDEO},
};
constexpr size_t kMaxExtension = 4;

bool StartsWith(absl::string_view s, absl::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// ISO-BMFF: [size:4]["ftyp"][major brand:4][minor:4][compatible brands...].
v1::FileClass ClassifyBrand(absl::string_view brand) {
  static constexpr absl::string_view kImage[] = {
      "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif", "avis"};
  static constexpr absl::string_view kVideo[] = {
      "isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "qt  ",
      "M4V ", "M4VH", "M4VP", "3gp4", "3gp5", "3gp6", "3g2a", "avc1", "dash", "f4v "};
  static constexpr absl::string_view kAudio[] = {"M4A ", "M4B ", "M4P ", "f4a "};
  for (absl::string_view b : kImage)
    if (brand == b) return v1::IMAGE;
  for (absl::string_view b : kVideo)
    if (brand == b) return v1::VIDEO;
  for (absl::string_view b : kAudio)
    if (brand == b) return v1::AUDIO;
  return v1::FILE_CLASS_UNSPECIFIED;
}

}  // namespace

v1::FileClass ClassifyMagic(absl::string_view h) {
  if (StartsWith(h, "\xFF\xD8\xFF")) return v1::IMAGE;  // JPEG
  if (StartsWith(h, absl::string_view("\x89PNG\r\n\x1a\n", 8))) return v1::IMAGE;
  if (StartsWith(h, "GIF87a") || StartsWith(h, "GIF89a")) return v1::IMAGE;
  if (StartsWith(h, absl::string_view("II*\0", 4)) ||
      StartsWith(h, absl::string_view("MM\0*", 4)) ||
      StartsWith(h, "IIRO") || StartsWith(h, "IIRS") || StartsWith(h, "MMOR") ||
      StartsWith(h, absl::string_view("IIU\0", 4))) {
    return v1::IMAGE;  // TIFF, DNG and most raw formats (ORF, RW2 included)
  }
  if (h.size() >= 14 && StartsWith(h, "BM")) return v1::IMAGE;
  if (h.size() >= 12 && StartsWith(h, "RIFF")) {
    absl::string_view form = h.substr(8, 4);
    if (form == "WEBP") return v1::IMAGE;
    if (form == "AVI ") return v1::VIDEO;
    if (form == "WAVE") return v1::AUDIO;
  }
  if (h.size() >= 12 && h.substr(4, 4) == "ftyp") {
    v1::FileClass c = ClassifyBrand(h.substr(8, 4));
    if (c != v1::FILE_CLASS_UNSPECIFIED) return c;
    // The major brand is unknown: look at the compatible brands we have.
    const uint32_t box_size = (uint32_t{static_cast<uint8_t>(h[0])} << 24) |
                              (uint32_t{static_cast<uint8_t>(h[1])} << 16) |
                              (uint32_t{static_cast<uint8_t>(h[2])} << 8) |
                              uint32_t{static_cast<uint8_t>(h[3])};
    size_t end = std::min<size_t>(h.size(), box_size);
    for (size_t off = 16; off + 4 <= end; off += 4) {
      c = ClassifyBrand(h.substr(off, 4));
      if (c != v1::FILE_CLASS_UNSPECIFIED) return c;
    }
    // An unknown brand is still ISO-BMFF, which can carry location boxes:
    // VIDEO (fail closed; its redactor handles any brand).
    return v1::VIDEO;
  }
  if (h.size() >= 8) {
    // Old QuickTime files start with another box than ftyp.
    const absl::string_view type = h.substr(4, 4);
    for (absl::string_view t : {"moov", "mdat", "wide", "free", "skip", "pnot"}) {
      if (type == t) return v1::VIDEO;
    }
  }
  if (StartsWith(h, "\x1A\x45\xDF\xA3")) return v1::VIDEO;  // Matroska / WebM
  if (StartsWith(h, "ID3") || StartsWith(h, "fLaC") || StartsWith(h, "OggS")) {
    return v1::AUDIO;
  }
  if (h.size() >= 2 && static_cast<uint8_t>(h[0]) == 0xFF &&
      (static_cast<uint8_t>(h[1]) & 0xF6) == 0xF2) {
    return v1::AUDIO;  // MPEG-1/2 layer III frame sync (FF FB, FF F3, FF F2)
  }
  if (StartsWith(h, "%PDF")) return v1::DOCUMENT;
  return v1::OTHER;
}

v1::FileClass ClassifyFile(absl::string_view name, bool is_dir,
                           absl::string_view head) {
  if (is_dir) return v1::DIRECTORY;
  if (const v1::FileClass content = ClassifyMagic(head); content != v1::OTHER) {
    return content;
  }
  size_t slash = name.rfind('/');
  if (slash != absl::string_view::npos) name.remove_prefix(slash + 1);
  size_t dot = name.rfind('.');
  if (dot != absl::string_view::npos && dot != 0) {
    absl::string_view ext = name.substr(dot + 1);
    if (!ext.empty() && ext.size() <= kMaxExtension) {
      char lower[kMaxExtension];
      for (size_t i = 0; i < ext.size(); ++i) {
        char c = ext[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      absl::string_view lext(lower, ext.size());
      for (const ExtClass& e : kExtensions) {
        if (lext == e.ext) return e.cls;
      }
    }
  }
  return v1::OTHER;
}

}  // namespace scopedfs::policy
