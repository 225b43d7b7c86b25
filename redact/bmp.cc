// BMP allowlist redactor.
//
// A BMP has no metadata containers, but writers may leave bytes outside the
// parts a decoder reads: between the colour table and the pixel array
// (bfOffBits can point anywhere), and after the pixel array. The view keeps
// exactly the parts decoders read and zeroes the rest:
//   * the file header (14 bytes) except its two reserved words,
//   * the DIB header (its own size field says how long),
//   * the colour masks after a 40-byte header (BI_BITFIELDS and
//     BI_ALPHABITFIELDS),
//   * the colour table, up to the pixel array,
//   * the pixel array: bfOffBits for the computed (uncompressed) or declared
//     (compressed) image size, clamped to the file,
//   * an embedded ICC profile of a BITMAPV5HEADER (bV5CSType 'MBED').
#include "redact/bmp.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace scopedfs::redact {
namespace {

constexpr uint64_t kFileHeader = 14;
constexpr uint32_t kCompressionRgb = 0;
constexpr uint32_t kCompressionBitfields = 3;
constexpr uint32_t kCompressionAlphaBitfields = 6;
constexpr uint32_t kProfileEmbedded = 0x4D424544;  // 'MBED'

uint64_t LittleEndian(const std::string& s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

absl::Status Malformed(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("BMP: ", what));
}

bool KnownDibSize(uint64_t size) {
  // CORE, OS/2 2.x (16..64), INFO, V2, V3, V4, V5.
  return size == 12 || size == 40 || size == 52 || size == 56 ||
         (size >= 16 && size <= 64 && size % 4 == 0) || size == 108 ||
         size == 124;
}

// Appends to `out` every byte of [0, size) outside the sorted, possibly
// overlapping `keep` intervals.
void ZeroOutside(std::vector<ByteRange> keep, uint64_t size,
                 std::vector<ByteRange>* out) {
  std::sort(keep.begin(), keep.end(),
            [](const ByteRange& a, const ByteRange& b) {
              return a.offset < b.offset;
            });
  uint64_t pos = 0;
  for (const ByteRange& k : keep) {
    uint64_t begin = std::min(k.offset, size);
    uint64_t end = std::min(k.end(), size);
    if (begin > pos) out->push_back(ByteRange{pos, begin - pos});
    pos = std::max(pos, end);
  }
  if (size > pos) out->push_back(ByteRange{pos, size - pos});
}

// The pixel array's length in bytes (uncompressed: rows padded to 4 bytes).
absl::Status PixelBytes(const std::string& dib, uint64_t dib_size,
                        uint64_t* bytes) {
  if (dib_size == 12) {  // BITMAPCOREHEADER: 16-bit width/height
    uint64_t width = LittleEndian(dib, 4, 2);
    uint64_t height = LittleEndian(dib, 6, 2);
    uint64_t bpp = LittleEndian(dib, 10, 2);
    *bytes = (bpp * width + 31) / 32 * 4 * height;
    return absl::OkStatus();
  }
  int64_t width = static_cast<int32_t>(LittleEndian(dib, 4, 4));
  int64_t height = static_cast<int32_t>(LittleEndian(dib, 8, 4));
  uint64_t bpp = LittleEndian(dib, 14, 2);
  uint64_t compression = dib_size >= 20 ? LittleEndian(dib, 16, 4) : 0;
  uint64_t declared = dib_size >= 24 ? LittleEndian(dib, 20, 4) : 0;
  if (width < 0) return Malformed("negative width");
  uint64_t rows = static_cast<uint64_t>(height < 0 ? -height : height);
  if (compression == kCompressionRgb || compression == kCompressionBitfields ||
      compression == kCompressionAlphaBitfields) {
    // At most 2^31 * 32 bits per row and 2^31 rows: no overflow.
    *bytes = (bpp * static_cast<uint64_t>(width) + 31) / 32 * 4 * rows;
    return absl::OkStatus();
  }
  if (declared == 0) return Malformed("compressed pixels of unknown size");
  *bytes = declared;
  return absl::OkStatus();
}

// Colour masks and table: from the end of the DIB header to bfOffBits.
// Their exact size does not matter for privacy beyond this: bytes between
// them and the pixels are a gap, zeroed.
uint64_t TableBytes(const std::string& dib, uint64_t dib_size) {
  uint64_t masks = 0;
  uint64_t entry = 4;
  uint64_t bpp = 0;
  uint64_t used = 0;
  if (dib_size == 12) {
    entry = 3;
    bpp = LittleEndian(dib, 10, 2);
  } else {
    bpp = LittleEndian(dib, 14, 2);
    uint64_t compression = dib_size >= 20 ? LittleEndian(dib, 16, 4) : 0;
    used = dib_size >= 36 ? LittleEndian(dib, 32, 4) : 0;
    if (dib_size == 40 && compression == kCompressionBitfields) masks = 12;
    if (dib_size == 40 && compression == kCompressionAlphaBitfields) {
      masks = 16;
    }
  }
  uint64_t entries = used;
  if (entries == 0 && bpp <= 8) entries = uint64_t{1} << bpp;
  entries = std::min<uint64_t>(entries, 1 << 16);  // sane cap
  return masks + entries * entry;
}

absl::Status Walk(const Source& source, std::vector<ByteRange>* out) {
  const uint64_t size = source.size();
  if (size < kFileHeader + 4) return Malformed("truncated header");
  std::string head;
  absl::Status s = source.Read(0, kFileHeader + 4, &head);
  if (!s.ok()) return s;
  const uint64_t off_bits = LittleEndian(head, 10, 4);
  const uint64_t dib_size = LittleEndian(head, 14, 4);
  if (!KnownDibSize(dib_size)) {
    return Malformed(absl::StrCat("unknown DIB header size ", dib_size));
  }
  if (dib_size > size - kFileHeader) return Malformed("truncated DIB header");
  std::string dib;
  s = source.Read(kFileHeader, dib_size, &dib);
  if (!s.ok()) return s;
  dib.resize(std::max<size_t>(dib.size(), 40), '\0');  // OS/2 short forms

  std::vector<ByteRange> keep;
  keep.push_back({0, 6});              // "BM", bfSize
  keep.push_back({10, 4 + dib_size});  // bfOffBits, DIB header
  const uint64_t table = kFileHeader + dib_size;
  if (off_bits >= table) {
    keep.push_back(
        {table, std::min(TableBytes(dib, dib_size), off_bits - table)});
  }
  uint64_t pixels = 0;
  s = PixelBytes(dib, dib_size, &pixels);
  if (!s.ok()) return s;
  if (off_bits < size) {
    keep.push_back({off_bits, std::min(pixels, size - off_bits)});
  }
  if (dib_size >= 124 && LittleEndian(dib, 56, 4) == kProfileEmbedded) {
    // bV5ProfileData is relative to the DIB header's start.
    uint64_t at = kFileHeader + LittleEndian(dib, 112, 4);
    uint64_t length = LittleEndian(dib, 116, 4);
    if (at < size) keep.push_back({at, std::min(length, size - at)});
  }
  ZeroOutside(std::move(keep), size, out);
  return absl::OkStatus();
}

}  // namespace

absl::Status FindBmpAllowlistRanges(const Source& source, const Profile&,
                                    std::vector<ByteRange>* out) {
  std::vector<ByteRange> found;
  absl::Status s = Walk(source, &found);
  if (!s.ok()) return s;
  out->insert(out->end(), found.begin(), found.end());
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
