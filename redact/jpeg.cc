#include "redact/jpeg.h"

#include <algorithm>
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

constexpr absl::string_view kExif("Exif\0", 5);  // then \0 (or \xff)
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

}  // namespace

absl::Status FindJpegLocationRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out) {
  const uint64_t size = source.size();
  std::string buf;
  if (absl::Status s = source.Read(0, std::min<uint64_t>(size, 2), &buf);
      !s.ok() || buf != "\xff\xd8") {
    return absl::InvalidArgumentError("not a JPEG");
  }
  absl::flat_hash_map<std::string, ExtendedXmp> extended;
  size_t extended_chunks = 0;
  uint64_t pos = 2;
  for (int n = 0;; ++n) {
    if (n == kMaxMarkers) return absl::InvalidArgumentError("too many markers");
    if (size - pos < 4) break;  // cut off: nothing more a reader could see
    if (absl::Status s = source.Read(pos, 4, &buf); !s.ok()) return s;
    if (static_cast<unsigned char>(buf[0]) != 0xff) {
      return absl::InvalidArgumentError("JPEG marker expected");
    }
    unsigned char marker = buf[1];
    if (marker == 0xff) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xda || marker == 0xd9) break;  // SOS, EOI
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      pos += 2;  // no length
      continue;
    }
    uint32_t length = Be(buf, 2, 2);
    if (length < 2) return absl::InvalidArgumentError("bad segment length");
    const uint64_t payload = pos + 4;
    const bool cut = pos + 2 + length > size;
    const uint64_t payload_length = cut ? size - payload : length - 2;
    const ByteRange whole = {payload, payload_length};

    if (marker == 0xe1) {  // APP1
      if (absl::Status s = source.Read(
              payload, std::min<uint64_t>(payload_length, kXmpExtHeader),
              &buf);
          !s.ok()) {
        return s;
      }
      absl::string_view head(buf);
      if (profile.exif_gps && absl::StartsWith(head, kExif) &&
          head.size() >= 6) {
        if (cut || !FindExifGpsRanges(source, payload + 6, payload_length - 6,
                                      out)
                        .ok()) {
          out->push_back(whole);
        }
      } else if (profile.xmp_location && absl::StartsWith(head, kXmp)) {
        if (cut || !FindXmpLocationRanges(source, payload + kXmp.size(),
                                          payload_length - kXmp.size(), out)
                        .ok()) {
          out->push_back(whole);
        }
      } else if (profile.xmp_location && absl::StartsWith(head, kXmpExt)) {
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
      }
    }
    if (cut) break;
    pos += 2 + length;
  }
  for (const auto& [guid, x] : extended) {
    if (absl::Status s = AddExtendedXmp(source, x, out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// TODO(allowlist): stub until the allowlist redactor lands.
absl::Status FindJpegAllowlistRanges(const Source&, const Profile&,
                                   std::vector<ByteRange>*) {
  return absl::UnimplementedError("allowlist redactor not written yet");
}

}  // namespace scopedfs::redact
