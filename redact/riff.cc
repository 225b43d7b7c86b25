// RIFF allowlist redactors: WebP and AVI.
//
// A RIFF file is "RIFF", a little-endian size, a form type ("WEBP",
// "AVI "), then chunks: a fourcc, a little-endian payload size, the payload
// and a pad byte when the size is odd. A "LIST" chunk's payload is a list
// type fourcc followed by chunks. The view keeps every chunk header (fourcc
// and size) and, for LISTs, the list type, so readers still skip what is
// zeroed; it zeroes the payload (and pad byte) of every chunk outside the
// format's allowlist, and every byte after the RIFF chunk(s).
//
// A chunk that claims more bytes than its parent declares cannot be
// followed: the rest of the parent is zeroed from its payload on. A chunk
// (or RIFF) cut by the end of the file — a truncated download — is treated
// as ending there: no bytes exist past it.
#include "redact/riff.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "redact/exif.h"

namespace scopedfs::redact {
namespace {

// Headers visited per file: an AVI's movi has a chunk per frame and audio
// packet (a 2-hour film: about a million).
constexpr uint64_t kMaxChunks = uint64_t{1} << 24;
constexpr int kMaxDepth = 4;

constexpr uint32_t FourCC(const char (&s)[5]) {
  return uint32_t{static_cast<uint8_t>(s[0])} |
         (uint32_t{static_cast<uint8_t>(s[1])} << 8) |
         (uint32_t{static_cast<uint8_t>(s[2])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[3])} << 24);
}

uint32_t LittleEndian32(const char* p) {
  return uint32_t{static_cast<uint8_t>(p[0])} |
         (uint32_t{static_cast<uint8_t>(p[1])} << 8) |
         (uint32_t{static_cast<uint8_t>(p[2])} << 16) |
         (uint32_t{static_cast<uint8_t>(p[3])} << 24);
}

struct Chunk {
  uint32_t id = 0;
  uint32_t list_type = 0;     // for "LIST" and "RIFF" (0 if too short)
  uint64_t payload = 0;       // first payload byte (after the size)
  uint64_t end = 0;           // one past the payload, clamped to the parent
  uint64_t declared_end = 0;  // one past the payload, as its size says
  uint64_t next = 0;          // where the next chunk starts (after the pad)
  bool overrun = false;       // claims more than its parent declares
};

// What a walk keeps, by where the chunks are.
enum class Level { kWebp, kAnmf, kAvi, kAvix, kHdrl, kStrl, kMovi };

bool IsDigit(uint32_t c) { return c >= '0' && c <= '9'; }
bool IsAlpha(uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// "##dc", "##wb", ...: a stream's data (the fourcc is little-endian, so
// the first character is the low byte).
bool IsStreamChunk(uint32_t id) {
  return IsDigit(id & 0xFF) && IsDigit((id >> 8) & 0xFF) &&
         IsAlpha((id >> 16) & 0xFF) && IsAlpha(id >> 24);
}

// "ix##": an OpenDML standard index.
bool IsStandardIndex(uint32_t id) {
  return (id & 0xFFFF) == ('i' | ('x' << 8)) && IsDigit((id >> 16) & 0xFF) &&
         IsDigit(id >> 24);
}

class RiffWalker {
 public:
  RiffWalker(const Source& source, const Profile& profile,
             std::vector<ByteRange>* out)
      : source_(source), profile_(profile), out_(out) {}

  // Walks every RIFF chunk of the file (the first with `form`, any further
  // ones with `extension_form`, for AVI's OpenDML "AVIX"); zeroes bytes
  // after the last.
  absl::Status Run(uint32_t form, uint32_t extension_form, Level level,
                   Level extension_level) {
    const uint64_t size = source_.size();
    uint64_t pos = 0;
    bool first = true;
    while (size - pos >= 12) {
      Chunk riff;
      absl::Status s = ReadChunk(pos, UINT64_MAX, &riff);
      if (!s.ok()) return s;
      const uint32_t want = first ? form : extension_form;
      if (riff.id != FourCC("RIFF") || riff.list_type != want) break;
      s = Walk(riff.payload + 4, riff.end, riff.declared_end,
               first ? level : extension_level, /*depth=*/1);
      if (!s.ok()) return s;
      first = false;
      pos = riff.next;
      if (extension_form == 0) break;
    }
    if (first) return absl::DataLossError("RIFF: bad header");
    Zero(pos, size);
    return absl::OkStatus();
  }

 private:
  void Zero(uint64_t begin, uint64_t end) {
    if (end > begin) out_->push_back(ByteRange{begin, end - begin});
  }

  // The chunk at `pos`; its parent declares it ends at `parent_end`
  // (UINT64_MAX: the file).
  absl::Status ReadChunk(uint64_t pos, uint64_t parent_end, Chunk* c) {
    if (++chunks_ > kMaxChunks) {
      return absl::ResourceExhaustedError("RIFF: too many chunks");
    }
    const uint64_t size = source_.size();
    std::string h;
    absl::Status s = source_.Read(pos, std::min<uint64_t>(12, size - pos), &h);
    if (!s.ok()) return s;
    c->id = LittleEndian32(h.data());
    const uint64_t length = LittleEndian32(h.data() + 4);
    c->list_type =
        h.size() >= 12 && length >= 4 ? LittleEndian32(h.data() + 8) : 0;
    c->payload = pos + 8;
    const uint64_t declared_end = c->payload + length;
    c->declared_end = declared_end;
    c->overrun = declared_end > parent_end;
    c->end = std::min({declared_end, parent_end, size});
    c->next = std::min({declared_end + (length & 1), parent_end, size});
    return absl::OkStatus();
  }

  // Chunks in [begin, end); `declared_end` is where the parent says it
  // ends (end is that, clamped to the file).
  absl::Status Walk(uint64_t begin, uint64_t end, uint64_t declared_end,
                    Level level, int depth) {
    uint64_t pos = begin;
    while (pos < end) {
      if (end - pos < 8) {  // no room for a chunk header: nothing to keep
        Zero(pos, end);
        return absl::OkStatus();
      }
      Chunk c;
      absl::Status s = ReadChunk(pos, declared_end, &c);
      if (!s.ok()) return s;
      if (c.overrun) {
        Zero(c.payload, end);
        return absl::OkStatus();
      }
      s = Handle(c, level, depth);
      if (!s.ok()) return s;
      Zero(c.end, c.next);  // the pad byte (always zero when present)
      pos = c.next;
    }
    return absl::OkStatus();
  }

  absl::Status Handle(const Chunk& c, Level level, int depth) {
    if (c.id == FourCC("LIST")) return HandleList(c, level, depth);
    if (level == Level::kWebp && c.id == FourCC("EXIF")) {
      return Exif(c);
    }
    if (level == Level::kWebp && c.id == FourCC("ANMF")) {
      // 16 bytes of frame geometry and timing, then the frame's chunks.
      if (c.end - c.payload <= 16 || depth >= kMaxDepth) {
        return absl::OkStatus();
      }
      return Walk(c.payload + 16, c.end, c.declared_end, Level::kAnmf,
                  depth + 1);
    }
    if (!KeepChunk(c.id, level)) Zero(c.payload, c.end);
    return absl::OkStatus();
  }

  absl::Status HandleList(const Chunk& c, Level level, int depth) {
    if (c.end - c.payload < 4) {
      Zero(c.payload, c.end);
      return absl::OkStatus();
    }
    const uint64_t body = c.payload + 4;  // the list type stays
    const uint32_t type = c.list_type;
    if (depth < kMaxDepth) {
      if (type == FourCC("movi") &&
          (level == Level::kAvi || level == Level::kAvix)) {
        return Walk(body, c.end, c.declared_end, Level::kMovi, depth + 1);
      }
      if (type == FourCC("rec ") && level == Level::kMovi) {
        return Walk(body, c.end, c.declared_end, Level::kMovi, depth + 1);
      }
      if (type == FourCC("hdrl") && level == Level::kAvi) {
        return Walk(body, c.end, c.declared_end, Level::kHdrl, depth + 1);
      }
      if (type == FourCC("strl") && level == Level::kHdrl) {
        return Walk(body, c.end, c.declared_end, Level::kStrl, depth + 1);
      }
    }
    if (type == FourCC("odml") && level == Level::kHdrl) {
      return absl::OkStatus();  // dmlh: the OpenDML total frame count
    }
    Zero(body, c.end);  // INFO, ncdt and every other list
    return absl::OkStatus();
  }

  static bool KeepChunk(uint32_t id, Level level) {
    switch (level) {
      case Level::kWebp:
        return id == FourCC("VP8 ") || id == FourCC("VP8L") ||
               id == FourCC("VP8X") || id == FourCC("ALPH") ||
               id == FourCC("ANIM") || id == FourCC("ICCP");
      case Level::kAnmf:
        return id == FourCC("VP8 ") || id == FourCC("VP8L") ||
               id == FourCC("ALPH");
      case Level::kAvi:
        return id == FourCC("idx1");
      case Level::kAvix:
        return false;
      case Level::kHdrl:
        return id == FourCC("avih");
      case Level::kMovi:
        return IsStreamChunk(id) || IsStandardIndex(id);
      case Level::kStrl:
        // Stream header and format, the OpenDML super index and the video
        // properties; strd (codec driver data) and strn (a free-text name)
        // are metadata.
        return id == FourCC("strh") || id == FourCC("strf") ||
               id == FourCC("indx") || id == FourCC("vprp");
    }
    return false;
  }

  // WebP "EXIF": a TIFF structure, sometimes after an "Exif\0\0" prefix.
  absl::Status Exif(const Chunk& c) {
    uint64_t tiff = c.payload;
    std::string magic;
    if (c.end - c.payload >= 6) {
      absl::Status s = source_.Read(c.payload, 6, &magic);
      if (!s.ok()) return s;
      if (magic == absl::string_view("Exif\0\0", 6)) tiff += 6;
    }
    std::vector<ByteRange> found;
    absl::Status s =
        FindExifAllowlistRanges(source_, tiff, c.end - tiff, profile_, &found);
    if (!s.ok()) return s;
    for (const ByteRange& r : found) {
      // Trust only ranges inside the chunk; anything else: the whole chunk.
      if (r.offset < c.payload || r.offset > c.end ||
          r.length > c.end - r.offset) {
        Zero(c.payload, c.end);
        return absl::OkStatus();
      }
    }
    out_->insert(out_->end(), found.begin(), found.end());
    return absl::OkStatus();
  }

  const Source& source_;
  const Profile& profile_;
  std::vector<ByteRange>* out_;
  uint64_t chunks_ = 0;
};

absl::Status RunWalker(const Source& source, const Profile& profile,
                       uint32_t form, uint32_t extension_form, Level level,
                       std::vector<ByteRange>* out) {
  std::vector<ByteRange> found;
  absl::Status s = RiffWalker(source, profile, &found)
                       .Run(form, extension_form, level, Level::kAvix);
  if (!s.ok()) return s;
  out->insert(out->end(), found.begin(), found.end());
  return absl::OkStatus();
}

}  // namespace

absl::Status FindWebpAllowlistRanges(const Source& source,
                                     const Profile& profile,
                                     std::vector<ByteRange>* out) {
  return RunWalker(source, profile, FourCC("WEBP"), 0, Level::kWebp, out);
}

absl::Status FindAviAllowlistRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out) {
  return RunWalker(source, profile, FourCC("AVI "), FourCC("AVIX"), Level::kAvi,
                   out);
}

}  // namespace scopedfs::redact
