#include "redact/exif.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "redact/redact.h"
#include "redact/xmp.h"

namespace scopedfs::redact {
namespace {

// Bounds on what we follow: real files stay far below them; a file beyond
// them is treated as malformed (fail closed).
constexpr uint32_t kMaxEntries = 1000;     // per IFD
constexpr int kMaxIfds = 64;               // in the main IFD chain
constexpr uint64_t kMaxGpsValue = 1 << 20;  // one out-of-line GPS value
constexpr uint64_t kMaxXmpValue = 1 << 26;  // an XMP packet

constexpr uint16_t kTagGpsInfo = 0x8825;
constexpr uint16_t kTagXmlPacket = 700;

struct Entry {
  uint16_t tag;
  uint16_t type;
  uint32_t count;
  uint32_t value;  // the inline value or the offset of the out-of-line one
};

struct Ifd {
  uint32_t count;
  std::vector<Entry> entries;
  uint32_t next;
};

// Size in bytes of one value of a TIFF field type; 0 for unknown types.
uint64_t TypeSize(uint16_t type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;  // BYTE ASCII SBYTE UNDEFINED
    case 3: case 8: return 2;                  // SHORT SSHORT
    case 4: case 9: case 11: case 13: return 4;  // LONG SLONG FLOAT IFD
    case 5: case 10: case 12: return 8;        // RATIONAL SRATIONAL DOUBLE
    default: return 0;
  }
}

// Bounds-checked reads of a TIFF structure embedded in a Source; offsets
// are relative to the TIFF header.
class Tiff {
 public:
  Tiff(const Source& source, uint64_t offset, uint64_t length)
      : source_(source), offset_(offset), length_(length) {}

  absl::Status Init(uint32_t* ifd0) {
    if (offset_ > source_.size() || length_ > source_.size() - offset_) {
      return absl::OutOfRangeError("TIFF structure outside the file");
    }
    std::string h;
    if (absl::Status s = Read(0, 8, &h); !s.ok()) return s;
    if (h.compare(0, 4, "II*\0", 4) == 0) {
      little_ = true;
    } else if (h.compare(0, 4, "MM\0*", 4) == 0) {
      little_ = false;
    } else {
      return absl::InvalidArgumentError("no TIFF header");
    }
    *ifd0 = U32(h.data() + 4);
    return absl::OkStatus();
  }

  absl::Status Read(uint64_t rel, uint64_t n, std::string* out) const {
    if (rel > length_ || n > length_ - rel) {
      return absl::OutOfRangeError(
          absl::StrCat("TIFF read of ", n, " bytes at ", rel, " past ",
                       length_));
    }
    return source_.Read(offset_ + rel, n, out);
  }

  absl::Status ReadIfd(uint32_t rel, Ifd* ifd) const {
    std::string buf;
    if (absl::Status s = Read(rel, 2, &buf); !s.ok()) return s;
    ifd->count = U16(buf.data());
    if (ifd->count > kMaxEntries) {
      return absl::InvalidArgumentError(
          absl::StrCat("IFD with ", ifd->count, " entries"));
    }
    if (absl::Status s = Read(rel, 2 + 12 * uint64_t{ifd->count} + 4, &buf);
        !s.ok()) {
      return s;
    }
    ifd->entries.clear();
    for (uint32_t i = 0; i < ifd->count; ++i) {
      const char* e = buf.data() + 2 + 12 * i;
      ifd->entries.push_back({U16(e), U16(e + 2), U32(e + 4), U32(e + 8)});
    }
    ifd->next = U32(buf.data() + 2 + 12 * ifd->count);
    return absl::OkStatus();
  }

  // Where an entry's value lives, relative to the TIFF header: inline in the
  // entry at `entry_rel` or out of line. Checks it lies inside the structure.
  absl::Status ValueRange(const Entry& e, uint64_t entry_rel,
                          uint64_t max_size, ByteRange* out) const {
    uint64_t unit = TypeSize(e.type);
    if (unit == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown TIFF type ", e.type, " in tag ", e.tag));
    }
    uint64_t size = unit * e.count;  // < 2^35: no overflow
    if (size <= 4) {
      *out = {entry_rel + 8, size};
      return absl::OkStatus();
    }
    if (size > max_size || e.value > length_ ||
        size > length_ - e.value) {
      return absl::OutOfRangeError(
          absl::StrCat("value of tag ", e.tag, " (", size, " bytes at ",
                       e.value, ") outside the TIFF structure"));
    }
    *out = {e.value, size};
    return absl::OkStatus();
  }

  // Reads the main IFD chain from `first`, calling `f(ifd_rel, ifd)` on each.
  template <typename F>
  absl::Status WalkChain(uint32_t first, F f) const {
    absl::flat_hash_set<uint32_t> seen;
    uint32_t rel = first;
    for (int i = 0; rel != 0; ++i) {
      if (i == kMaxIfds || !seen.insert(rel).second) {
        return absl::InvalidArgumentError("IFD chain too long or looping");
      }
      Ifd ifd;
      if (absl::Status s = ReadIfd(rel, &ifd); !s.ok()) return s;
      if (absl::Status s = f(rel, ifd); !s.ok()) return s;
      rel = ifd.next;
    }
    return absl::OkStatus();
  }

  uint64_t offset() const { return offset_; }

 private:
  uint16_t U16(const char* p) const {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return little_ ? (b[0] | b[1] << 8) : (b[0] << 8 | b[1]);
  }
  uint32_t U32(const char* p) const {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return little_ ? (uint32_t{b[0]} | uint32_t{b[1]} << 8 |
                      uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24)
                   : (uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 |
                      uint32_t{b[2]} << 8 | uint32_t{b[3]});
  }

  const Source& source_;
  uint64_t offset_;
  uint64_t length_;
  bool little_ = true;
};

}  // namespace

absl::Status FindExifGpsRanges(const Source& source, uint64_t tiff_offset,
                               uint64_t tiff_length,
                               std::vector<ByteRange>* out) {
  Tiff tiff(source, tiff_offset, tiff_length);
  uint32_t ifd0;
  if (absl::Status s = tiff.Init(&ifd0); !s.ok()) return s;
  if (ifd0 == 0) return absl::InvalidArgumentError("no IFD0");

  // GPSInfo belongs in IFD0, but multi-page TIFFs may have one per page.
  std::vector<uint32_t> gps_ifds;
  absl::Status s = tiff.WalkChain(ifd0, [&](uint32_t, const Ifd& ifd) {
    for (const Entry& e : ifd.entries) {
      if (e.tag != kTagGpsInfo) continue;
      if ((e.type != 4 && e.type != 13) || e.count != 1 || e.value == 0) {
        return absl::InvalidArgumentError("malformed GPSInfo pointer");
      }
      gps_ifds.push_back(e.value);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;

  std::vector<ByteRange> found;
  for (uint32_t rel : gps_ifds) {
    Ifd gps;
    if (s = tiff.ReadIfd(rel, &gps); !s.ok()) return s;
    // The whole IFD: count, entries (with inline values), next offset.
    found.push_back({rel, 2 + 12 * uint64_t{gps.count} + 4});
    for (uint32_t i = 0; i < gps.count; ++i) {
      ByteRange value;
      if (s = tiff.ValueRange(gps.entries[i], rel + 2 + 12 * i,
                                 kMaxGpsValue, &value);
          !s.ok()) {
        return s;
      }
      found.push_back(value);
    }
  }
  // Only append once everything parsed: on error the caller redacts the
  // whole segment and a partial list would only confuse.
  for (const ByteRange& r : found) {
    out->push_back({tiff.offset() + r.offset, r.length});
  }
  return absl::OkStatus();
}

absl::Status FindTiffXmpPackets(const Source& source, uint64_t tiff_offset,
                                uint64_t tiff_length,
                                std::vector<ByteRange>* packets) {
  Tiff tiff(source, tiff_offset, tiff_length);
  uint32_t ifd0;
  if (absl::Status s = tiff.Init(&ifd0); !s.ok()) return s;
  std::vector<ByteRange> found;
  absl::Status s = tiff.WalkChain(ifd0, [&](uint32_t rel, const Ifd& ifd) {
    for (uint32_t i = 0; i < ifd.count; ++i) {
      const Entry& e = ifd.entries[i];
      if (e.tag != kTagXmlPacket) continue;
      ByteRange value;
      if (absl::Status s = tiff.ValueRange(e, rel + 2 + 12 * i,
                                                 kMaxXmpValue, &value);
          !s.ok()) {
        return s;
      }
      found.push_back(value);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  for (const ByteRange& r : found) {
    packets->push_back({tiff.offset() + r.offset, r.length});
  }
  return absl::OkStatus();
}

absl::Status FindTiffLocationRanges(const Source& source,
                                    const Profile& profile,
                                    std::vector<ByteRange>* out) {
  // No container to fall back to: any error fails closed.
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
      if (absl::Status s =
              FindXmpLocationRanges(source, p.offset, p.length, out);
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

// TODO(allowlist): stubs until the allowlist redactors land.
absl::Status FindExifAllowlistRanges(const Source& source, uint64_t tiff_offset,
                                     uint64_t tiff_length, const Profile&,
                                     std::vector<ByteRange>* out) {
  out->push_back({tiff_offset, tiff_length});
  return absl::OkStatus();
}

absl::Status FindTiffAllowlistRanges(const Source&, const Profile&,
                                     std::vector<ByteRange>*) {
  return absl::UnimplementedError("TIFF allowlist redactor not written yet");
}

}  // namespace scopedfs::redact
