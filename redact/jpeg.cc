#include "redact/jpeg.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "redact/exif.h"
#include "redact/xmp.h"

namespace scopedfs::redact {
namespace {

constexpr int kMaxMarkers = 1 << 16;           // segments and fill bytes
constexpr uint64_t kMaxExtendedXmp = 16 << 20;  // one reassembled packet
constexpr size_t kMaxExtendedChunks = 4096;

constexpr absl::string_view kXmp("http://ns.adobe.com/xap/1.0/\0", 29);
constexpr absl::string_view kXmpExt("http://ns.adobe.com/xmp/extension/\0",
                                    35);
constexpr uint64_t kXmpExtHeader = 35 + 32 + 4 + 4;  // ns, GUID, size, offset

uint32_t Be(const std::string& s, size_t at, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

// The chunks of one Extended XMP packet (one GUID).
struct ExtendedXmp {
  uint32_t full_length = 0;
  bool broken = false;  // inconsistent or too large: zero it all
  struct Chunk {
    uint32_t packet_offset;
    ByteRange data;  // in the file
  };
  std::vector<Chunk> chunks;
};

// Adds the ranges for one reassembled Extended XMP packet.
absl::Status AddExtendedXmp(const Source& source, const ExtendedXmp& x,
                            std::vector<ByteRange>* out) {
  bool zero_all = x.broken || x.full_length > kMaxExtendedXmp;
  if (!zero_all) {
    std::string packet(x.full_length, '\0'), data;
    for (const ExtendedXmp::Chunk& c : x.chunks) {
      if (c.packet_offset > x.full_length ||
          c.data.length > x.full_length - c.packet_offset) {
        zero_all = true;
        break;
      }
      if (absl::Status s = source.Read(c.data.offset, c.data.length, &data);
          !s.ok()) {
        return s;
      }
      packet.replace(c.packet_offset, data.size(), data);
    }
    if (!zero_all) {
      // Missing chunks leave NULs, which make the packet unparseable.
      std::vector<ByteRange> spans;
      FindXmpLocationSpans(packet, &spans);
      zero_all = !spans.empty();
    }
  }
  if (zero_all) {
    for (const ExtendedXmp::Chunk& c : x.chunks) out->push_back(c.data);
  }
  return absl::OkStatus();
}

// Where the TIFF header of an APP1 EXIF payload starts, as exiftool reads
// it: "Exif\0" in any case after up to 4 junk bytes, then one pad byte.
// npos when `head` is no EXIF.
size_t ExifTiffStart(absl::string_view head) {
  for (size_t junk = 0; junk <= 4 && junk + 6 <= head.size(); ++junk) {
    absl::string_view id = head.substr(junk, 5);
    if (id[4] == '\0' && absl::EqualsIgnoreCase(id.substr(0, 4), "Exif")) {
      return junk + 6;
    }
  }
  return absl::string_view::npos;
}


// An APP1 that exiftool reads as XMP although its header is not Adobe's
// (Photoshop's "XMP\0", a bare "http...", or a packet after junk): where
// the packet starts in `payload`, payload.size() when it cannot tell (the
// whole payload then goes), npos when it is no XMP.
size_t NonStandardXmpStart(absl::string_view payload) {
  size_t start = absl::string_view::npos;
  for (absl::string_view tag : {"<?xpacket", "<x:xmpmeta", "<rdf:RDF"}) {
    start = std::min(start, payload.find(tag));
  }
  if (start != absl::string_view::npos) return start;
  if (absl::StartsWith(payload, "http") ||
      absl::StartsWith(payload, absl::string_view("XMP\0", 4)) ||
      absl::StrContains(payload, "<exif:")) {
    return payload.size();
  }
  return absl::string_view::npos;
}

// Entropy data read at a time: large, since a photo's scan is megabytes
// and each read is a system call and a restart of the search.
constexpr uint64_t kScanChunk = 1 << 20;

bool IsStandalone(unsigned char marker) {
  return marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8);
}

// Segments a decoder needs: frames (SOFn), Huffman/arithmetic tables,
// quantization tables, restart interval, DNL, hierarchical (DHP, EXP) and
// JPEG-LS (SOF55, LSE). SOS is handled by the walk.
bool IsDecodeSegment(unsigned char marker) {
  return (marker >= 0xc0 && marker <= 0xcf) ||
         (marker >= 0xdb && marker <= 0xdf) || marker == 0xf7 ||
         marker == 0xf8;
}

// How many payload bytes of a metadata segment stay (the rest, and every
// other APPn, is zeroed): JFIF's fixed fields and its RGB thumbnail (extra
// bytes after them are no JFIF, so they go), ICC profile chunks whole, and
// the Adobe colour transform's 12 bytes (decoders need it for CMYK/YCCK).
// JFXX extension thumbnails (a nested JPEG, with metadata of its own) go.
// `head` holds the payload's first bytes (at least 16 when it has them).
uint64_t KeptAppPrefix(unsigned char marker, absl::string_view head,
                       uint64_t length) {
  constexpr uint64_t kJfifFixed = 14;  // "JFIF\0", version, units, density,
                                       // thumbnail width and height
  constexpr uint64_t kAdobe = 12;
  switch (marker) {
    case 0xe0:
      if (absl::StartsWith(head, absl::string_view("JFIF\0", 5)) &&
          head.size() >= kJfifFixed) {
        const uint64_t thumb = 3 * static_cast<uint64_t>(
                                       static_cast<unsigned char>(head[12])) *
                               static_cast<unsigned char>(head[13]);
        return std::min(length, kJfifFixed + thumb);
      }
      return 0;
    case 0xe2:
      return absl::StartsWith(head, absl::string_view("ICC_PROFILE\0", 12))
                 ? length
                 : 0;
    case 0xee:
      return absl::StartsWith(head, "Adobe") ? std::min(length, kAdobe) : 0;
    default:
      return 0;
  }
}

// Offset of the first byte at or after `pos` that starts a marker: 0xFF
// followed by anything but 0x00 (stuffing), RSTn (part of the scan) or
// 0xFF (a fill byte: the marker starts later). `size` if none.
absl::Status NextMarkerAfterScan(const Source& source, uint64_t pos,
                                 uint64_t* marker) {
  const uint64_t size = source.size();
  std::string buf;
  while (pos < size) {
    // One byte of overlap so a 0xFF ending a chunk sees its successor.
    const uint64_t n = std::min<uint64_t>(kScanChunk, size - pos);
    if (absl::Status s = source.Read(pos, n, &buf); !s.ok()) return s;
    for (size_t i = 0; i + 1 < buf.size(); ++i) {
      if (static_cast<unsigned char>(buf[i]) != 0xff) {
        const void* ff = std::memchr(&buf[i], 0xff, buf.size() - i);
        if (ff == nullptr) break;
        i = static_cast<const char*>(ff) - buf.data();
        if (i + 1 >= buf.size()) break;
      }
      const unsigned char next = buf[i + 1];
      if (next == 0x00 || next == 0xff || (next >= 0xd0 && next <= 0xd7)) {
        continue;
      }
      *marker = pos + i;
      return absl::OkStatus();
    }
    if (n < 2) break;
    pos += n - 1;
  }
  *marker = size;
  return absl::OkStatus();
}

// One step of a segment walk (both modes): what stands at `pos`, just after
// SOI or after the previous segment, once fill bytes (0xFF runs) are
// skipped.
struct Segment {
  enum Kind {
    kEnd,         // the source ends (in a run of fill bytes, or at `pos`)
    kLost,        // no marker where one must be, a 0x00 marker or a
                  // length below 2: at `at`
    kShort,       // a marker with too little left for its length
    kEoi,         // end of image; the marker is at `at`
    kStandalone,  // a marker without a length (TEM, RSTn, SOI) at `at`
    kSegment,     // a marker with a length and payload
  };
  Kind kind = kEnd;
  uint64_t at = 0;  // the 0xFF that starts the marker
  unsigned char marker = 0;
  uint64_t payload = 0;  // kSegment: after the 2-byte length
  uint64_t length = 0;   // kSegment: of the payload, cut at the end
  bool cut = false;      // kSegment: the segment runs past the end
  uint64_t end() const { return payload + length; }
};

absl::StatusOr<Segment> NextSegment(const Source& source, uint64_t pos) {
  const uint64_t size = source.size();
  std::string buf;
  Segment seg;
  bool no_marker = false;
  for (;;) {
    if (pos >= size) return seg;  // kEnd
    if (absl::Status s =
            source.Read(pos, std::min<uint64_t>(size - pos, 64), &buf);
        !s.ok()) {
      return s;
    }
    size_t fill = 0;
    while (fill < buf.size() && static_cast<unsigned char>(buf[fill]) == 0xff) {
      ++fill;
    }
    if (fill == 0) {  // no 0xFF where a marker must be
      seg.at = pos;
      no_marker = true;
      break;
    }
    if (fill < buf.size()) {
      seg.at = pos + fill - 1;
      seg.marker = static_cast<unsigned char>(buf[fill]);
      break;
    }
    // A run of fill bytes: skip most of it and look again.
    if (pos + fill >= size) return seg;  // kEnd
    pos += fill - 1;
  }
  seg.kind = Segment::kLost;
  if (no_marker) return seg;
  if (seg.marker == 0xd9) {
    seg.kind = Segment::kEoi;
    return seg;
  }
  if (IsStandalone(seg.marker)) {
    seg.kind = Segment::kStandalone;
    return seg;
  }
  if (size - seg.at < 4) {
    seg.kind = Segment::kShort;
    return seg;
  }
  if (seg.marker == 0x00) return seg;  // kLost
  if (absl::Status s = source.Read(seg.at + 2, 2, &buf); !s.ok()) return s;
  const uint32_t length = Be(buf, 0, 2);
  if (length < 2) return seg;
  seg.kind = Segment::kSegment;
  seg.payload = seg.at + 4;
  seg.cut = seg.at + 2 + length > size;
  seg.length = seg.cut ? size - seg.payload : length - 2;
  return seg;
}


// A window [offset, offset + size) of another source, as a source of its
// own: an image embedded in a JPEG (MPF) is walked as a JPEG by itself.
class SubSource : public Source {
 public:
  SubSource(const Source& base, uint64_t offset, uint64_t size)
      : base_(base), offset_(offset), size_(size) {}
  uint64_t size() const override { return size_; }
  absl::Status Read(uint64_t offset, size_t length,
                    std::string* out) const override {
    if (offset > size_ || length > size_ - offset) {
      return absl::OutOfRangeError("read outside an embedded image");
    }
    return base_.Read(offset_ + offset, length, out);
  }

 private:
  const Source& base_;
  uint64_t offset_;
  uint64_t size_;
};

// Embedded images (MPF, trailers) are JPEGs that may carry their own EXIF
// and XMP (exiftool -ee reads them). Bounds: how deep images may nest (the
// primary is depth 0) and how many one file may hold in all.
constexpr int kMaxEmbeddedDepth = 2;
constexpr int kMaxEmbeddedImages = 64;

// What the marker walk of one JPEG found besides its location ranges.
struct JpegWalk {
  uint64_t eoi_end = 0;              // one past the first EOI; 0: none
  std::vector<ByteRange> mpf_tiffs;  // APP2 "MPF\0" payloads after the id
};

// The location-only segment walk of one JPEG: every marker from SOI to the
// first EOI, through fill bytes, markers without length and every scan's
// entropy data (as the allowlist walk), so APPn segments after a scan
// (between progressive scans, or moved after the only one) are seen too.
// Before the first scan a lost marker or a bad length is an error (the
// caller fails closed); after it, the rest of the source is zeroed instead
// (a decoder stops there too, and the pixels before stay).
absl::Status WalkJpegLocation(const Source& source, const Profile& profile,
                              std::vector<ByteRange>* out, JpegWalk* walk) {
  const uint64_t size = source.size();
  std::string buf;
  if (absl::Status s = source.Read(0, std::min<uint64_t>(size, 2), &buf);
      !s.ok() || buf != "\xff\xd8") {
    return absl::InvalidArgumentError("not a JPEG");
  }
  absl::flat_hash_map<std::string, ExtendedXmp> extended;
  size_t extended_chunks = 0;
  bool scanned = false;  // past the first SOS
  // Structure lost at `at`: an error before the first scan, else the rest
  // of the source goes.
  auto lost = [&](uint64_t at, const char* why) {
    if (!scanned) return absl::InvalidArgumentError(why);
    out->push_back({at, size - at});
    return absl::OkStatus();
  };
  uint64_t pos = 2;
  for (int n = 0; pos < size; ++n) {
    if (n == kMaxMarkers) return absl::InvalidArgumentError("too many markers");
    absl::StatusOr<Segment> seg = NextSegment(source, pos);
    if (!seg.ok()) return seg.status();
    if (seg->kind == Segment::kEnd) break;
    if (seg->kind == Segment::kEoi) {
      walk->eoi_end = seg->at + 2;
      break;
    }
    if (seg->kind == Segment::kStandalone) {
      pos = seg->at + 2;
      continue;
    }
    // Cut off before a length: nothing more a reader could see.
    if (seg->kind == Segment::kShort) break;
    if (seg->kind == Segment::kLost) {
      if (absl::Status s = lost(seg->at, "JPEG segment expected"); !s.ok()) {
        return s;
      }
      break;
    }
    const unsigned char marker = seg->marker;
    const uint64_t payload = seg->payload;
    const bool cut = seg->cut;
    const uint64_t payload_length = seg->length;
    const ByteRange whole = {payload, payload_length};

    if (marker == 0xda) {  // SOS: the scan's entropy data follows
      scanned = true;
      if (cut) break;
      if (absl::Status s = NextMarkerAfterScan(source, seg->end(), &pos);
          !s.ok()) {
        return s;
      }
      continue;
    }
    if (marker == 0xe2 && !cut && payload_length > 4) {  // APP2
      if (absl::Status s = source.Read(payload, 4, &buf); !s.ok()) return s;
      if (buf == absl::string_view("MPF\0", 4)) {
        walk->mpf_tiffs.push_back({payload + 4, payload_length - 4});
      }
    }
    if (marker == 0xe1) {  // APP1
      if (absl::Status s = source.Read(
              payload, std::min<uint64_t>(payload_length, kXmpExtHeader),
              &buf);
          !s.ok()) {
        return s;
      }
      absl::string_view head(buf);
      const size_t tiff = ExifTiffStart(head);
      if (tiff != absl::string_view::npos) {
        if (profile.exif_gps &&
            (cut || !FindExifGpsRanges(source, payload + tiff,
                                       payload_length - tiff, out)
                         .ok())) {
          out->push_back(whole);
        }
      } else if (!profile.xmp_location) {
        // nothing else to look for
      } else if (absl::StartsWith(head, kXmp)) {
        if (cut || !FindXmpLocationRanges(source, payload + kXmp.size(),
                                          payload_length - kXmp.size(), out)
                        .ok()) {
          out->push_back(whole);
        }
      } else if (absl::StartsWith(head, kXmpExt)) {
        if (cut || head.size() < kXmpExtHeader ||
            ++extended_chunks > kMaxExtendedChunks) {
          out->push_back(whole);
        } else {
          ExtendedXmp& x = extended[head.substr(kXmpExt.size(), 32)];
          uint32_t full_length = Be(buf, 67, 4);
          if (!x.chunks.empty() && x.full_length != full_length) {
            x.broken = true;
          }
          x.full_length = full_length;
          x.chunks.push_back({Be(buf, 71, 4),
                              {payload + kXmpExtHeader,
                               payload_length - kXmpExtHeader}});
        }
      } else {
        if (absl::Status s = source.Read(payload, payload_length, &buf);
            !s.ok()) {
          return s;
        }
        const size_t at = NonStandardXmpStart(buf);
        if (at == buf.size() ||
            (at != absl::string_view::npos &&
             (cut || !FindXmpLocationRanges(source, payload + at,
                                            payload_length - at, out)
                          .ok()))) {
          out->push_back(whole);
        }
      }
    }
    if (cut) break;
    pos = seg->end();
  }
  for (const auto& [guid, x] : extended) {
    if (absl::Status s = AddExtendedXmp(source, x, out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The images an MPF index (the TIFF structure after "MPF\0", `tiff`) lists
// besides the primary one (offset 0), as ranges of `source`: MPEntry
// (0xB002) holds 16-byte entries (attributes, size, offset from the TIFF
// start, two dependent-image entries) in the TIFF's byte order. An index
// that cannot be read lists nothing (the trailer scan still looks).
void MpfImages(const Source& source, const ByteRange& tiff,
               std::vector<ByteRange>* images) {
  std::string buf;
  if (tiff.length < 8 || !source.Read(tiff.offset, 8, &buf).ok()) return;
  bool le;
  if (buf.compare(0, 4, "II*\0", 4) == 0) {
    le = true;
  } else if (buf.compare(0, 4, "MM\0*", 4) == 0) {
    le = false;
  } else {
    return;
  }
  auto u = [&le](const std::string& b, size_t at, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      const size_t byte = le ? at + n - 1 - i : at + i;
      v = v << 8 | static_cast<unsigned char>(b[byte]);
    }
    return v;
  };
  const uint64_t ifd = u(buf, 4, 4);
  if (ifd > tiff.length || tiff.length - ifd < 2 ||
      !source.Read(tiff.offset + ifd, 2, &buf).ok()) {
    return;
  }
  const uint64_t count = u(buf, 0, 2);
  if ((tiff.length - ifd - 2) / 12 < count ||
      !source.Read(tiff.offset + ifd + 2, count * 12, &buf).ok()) {
    return;
  }
  for (uint64_t i = 0; i < count; ++i) {
    if (u(buf, i * 12, 2) != 0xB002) continue;
    const uint64_t bytes = u(buf, i * 12 + 4, 4);
    const uint64_t at = u(buf, i * 12 + 8, 4);
    const uint64_t entries = std::min<uint64_t>(bytes / 16, kMaxEmbeddedImages);
    if (bytes <= 4 || at > tiff.length || tiff.length - at < entries * 16) {
      return;  // inline (at most 4 bytes) or outside the index: none
    }
    std::string e;
    if (!source.Read(tiff.offset + at, entries * 16, &e).ok()) return;
    for (uint64_t k = 0; k < entries; ++k) {
      const uint64_t length = u(e, k * 16 + 4, 4);
      const uint64_t offset = u(e, k * 16 + 8, 4);
      if (offset == 0 || length == 0) continue;  // the primary image
      if (offset > source.size() - tiff.offset ||
          length > source.size() - tiff.offset - offset) {
        continue;  // outside the file: nothing a reader can read there
      }
      images->push_back({tiff.offset + offset, length});
    }
    return;
  }
}

// Where the next "SOI, then an APPn marker" starts at or after `pos` (a
// JPEG stored after another one's EOI), `source.size()` if none.
absl::Status NextEmbeddedSoi(const Source& source, uint64_t pos,
                             uint64_t* at) {
  const uint64_t size = source.size();
  std::string buf;
  while (size - pos >= 4) {
    const uint64_t n = std::min<uint64_t>(kScanChunk, size - pos);
    if (absl::Status s = source.Read(pos, n, &buf); !s.ok()) return s;
    for (size_t i = 0; i + 4 <= buf.size(); ++i) {
      const void* ff = std::memchr(&buf[i], 0xff, buf.size() - i);
      if (ff == nullptr) break;
      i = static_cast<const char*>(ff) - buf.data();
      if (i + 4 > buf.size()) break;
      const unsigned char app = buf[i + 3];
      if (static_cast<unsigned char>(buf[i + 1]) == 0xd8 &&
          static_cast<unsigned char>(buf[i + 2]) == 0xff && app >= 0xe0 &&
          app <= 0xef) {
        *at = pos + i;
        return absl::OkStatus();
      }
    }
    if (n < 4) break;
    pos += n - 3;  // overlap: a marker across chunks is still seen
  }
  *at = size;
  return absl::OkStatus();
}

// Location ranges of the JPEG in `source` and of the JPEGs embedded after
// its first EOI: those its MPF index lists (recursively, to
// kMaxEmbeddedDepth) and, for the primary image (depth 0), every "SOI +
// APPn" found in the bytes after the EOI that no earlier image covers. An
// embedded image that cannot be walked (or one too many, or too deep) zeroes
// every byte after the EOI: a reader may still find metadata there.
absl::Status JpegLocationRanges(const Source& source, const Profile& profile,
                                int depth, int* images,
                                std::vector<ByteRange>* out,
                                uint64_t* eoi_end) {
  JpegWalk walk;
  if (absl::Status s = WalkJpegLocation(source, profile, out, &walk);
      !s.ok()) {
    return s;
  }
  *eoi_end = walk.eoi_end;
  const uint64_t size = source.size();
  const uint64_t eoi = walk.eoi_end;
  if (eoi == 0 || eoi >= size) return absl::OkStatus();
  auto zero_after_eoi = [&] { out->push_back({eoi, size - eoi}); };

  std::vector<ByteRange> listed;
  for (const ByteRange& tiff : walk.mpf_tiffs) {
    MpfImages(source, tiff, &listed);
  }
  if (depth >= kMaxEmbeddedDepth) {
    if (!listed.empty()) zero_after_eoi();
    return absl::OkStatus();
  }
  // Walks the image at [start, start + length) and adds its ranges; *ok is
  // false if it cannot be walked (any error, read errors included: the
  // caller then zeroes more, never less) or is one too many.
  std::vector<ByteRange> done;  // images walked, up to their EOI
  auto embedded = [&](uint64_t start, uint64_t length, bool* ok) {
    *ok = false;
    if (++*images > kMaxEmbeddedImages) return absl::OkStatus();
    SubSource sub(source, start, length);
    std::vector<ByteRange> found;
    uint64_t sub_eoi = 0;
    if (!JpegLocationRanges(sub, profile, depth + 1, images, &found, &sub_eoi)
             .ok()) {
      return absl::OkStatus();
    }
    for (const ByteRange& r : found) {
      out->push_back({start + r.offset, r.length});
    }
    done.push_back({start, sub_eoi != 0 ? sub_eoi : length});
    *ok = true;
    return absl::OkStatus();
  };
  for (const ByteRange& image : listed) {
    bool ok = false;
    if (absl::Status s = embedded(image.offset, image.length, &ok); !s.ok()) {
      return s;
    }
    if (!ok) {
      zero_after_eoi();
      return absl::OkStatus();
    }
  }
  if (depth > 0) return absl::OkStatus();  // the primary's scan covers it
  uint64_t pos = eoi;
  while (pos < size) {
    uint64_t at = size;
    if (absl::Status s = NextEmbeddedSoi(source, pos, &at); !s.ok()) return s;
    if (at >= size) break;
    auto covered = std::find_if(
        done.begin(), done.end(),
        [at](const ByteRange& r) { return at >= r.offset && at < r.end(); });
    if (covered != done.end()) {
      pos = covered->end();
      continue;
    }
    bool ok = false;
    if (absl::Status s = embedded(at, size - at, &ok); !s.ok()) return s;
    if (!ok) {
      zero_after_eoi();
      return absl::OkStatus();
    }
    pos = std::max(done.back().end(), at + 2);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FindJpegLocationRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out) {
  int images = 0;
  uint64_t eoi_end = 0;
  return JpegLocationRanges(source, profile, /*depth=*/0, &images, out,
                            &eoi_end);
}

absl::Status FindJpegAllowlistRanges(const Source& source,
                                     const Profile& profile,
                                     std::vector<ByteRange>* out) {
  const uint64_t size = source.size();
  std::string buf;
  if (size < 2 || !source.Read(0, 2, &buf).ok() || buf != "\xff\xd8") {
    return absl::InvalidArgumentError("not a JPEG");
  }
  // Everything from `from` to the end of the file goes: after EOI, or once
  // the structure is lost (a decoder stops there too).
  auto zero_rest = [&](uint64_t from) {
    if (from < size) out->push_back({from, size - from});
  };
  uint64_t pos = 2;
  for (int n = 0; pos < size; ++n) {
    if (n == kMaxMarkers) {
      zero_rest(pos);
      break;
    }
    absl::StatusOr<Segment> seg = NextSegment(source, pos);
    if (!seg.ok()) return seg.status();
    if (seg->kind == Segment::kEnd) break;
    if (seg->kind == Segment::kLost || seg->kind == Segment::kShort) {
      zero_rest(seg->at);
      break;
    }
    if (seg->kind == Segment::kEoi) {  // nothing after the image stays
      zero_rest(seg->at + 2);
      break;
    }
    if (seg->kind == Segment::kStandalone) {
      pos = seg->at + 2;
      continue;
    }
    const unsigned char marker = seg->marker;
    const uint64_t payload = seg->payload;
    const uint64_t end = seg->end();
    if (marker == 0xda) {  // SOS: the scan's entropy data follows
      if (absl::Status s = NextMarkerAfterScan(source, end, &pos); !s.ok()) {
        return s;
      }
      continue;
    }
    if (!IsDecodeSegment(marker)) {
      if (absl::Status s = source.Read(
              payload, std::min<uint64_t>(end - payload, 16), &buf);
          !s.ok()) {
        return s;
      }
      const size_t tiff = marker == 0xe1 ? ExifTiffStart(buf)
                                         : absl::string_view::npos;
      if (tiff != absl::string_view::npos) {
        // The identifier stays; the TIFF part keeps its allowlist.
        if (absl::Status s = FindExifAllowlistRanges(
                source, payload + tiff, end - payload - tiff, profile, out);
            !s.ok()) {
          return s;
        }
      } else {
        const uint64_t kept = KeptAppPrefix(marker, buf, end - payload);
        if (kept < end - payload) {
          out->push_back({payload + kept, end - payload - kept});
        }
      }
    }
    pos = end;
  }
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
