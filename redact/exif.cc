#include "redact/exif.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
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
constexpr uint16_t kTagExifIfd = 0x8769;
constexpr uint16_t kTagSubIfds = 330;
constexpr uint32_t kMaxSubIfds = 64;  // pointers in one SubIFDs entry
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

  // `any_magic`: whole TIFF-based raw files (ORF "IIRO"/"IIRS"/"MMOR",
  // RW2 "IIU\0") replace 42 with a magic of their own; DetectFormat has
  // already vouched for them, so only the byte order matters here.
  absl::Status Init(uint32_t* ifd0, bool any_magic = false) {
    if (offset_ > source_.size() || length_ > source_.size() - offset_) {
      return absl::OutOfRangeError("TIFF structure outside the file");
    }
    std::string h;
    if (absl::Status s = Read(0, 8, &h); !s.ok()) return s;
    if (h.compare(0, 4, "II*\0", 4) == 0 ||
        (any_magic && h.compare(0, 2, "II") == 0)) {
      little_ = true;
    } else if (h.compare(0, 4, "MM\0*", 4) == 0 ||
               (any_magic && h.compare(0, 2, "MM") == 0)) {
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
    absl::Status s = source_.Read(offset_ + rel, n, out);
    // Inside our bounds the source must be readable: its failure is an I/O
    // error the caller reports, not a malformed structure.
    if (!s.ok()) source_failed_ = true;
    return s;
  }

  bool source_failed() const { return source_failed_; }
  uint64_t length() const { return length_; }

  // The LONG/IFD values of a pointer entry (SubIFDs, ExifIFD, ...), at most
  // `max` of them.
  absl::Status ReadPointers(const Entry& e, uint64_t entry_rel, uint32_t max,
                            std::vector<uint32_t>* out) const {
    if ((e.type != 4 && e.type != 13) || e.count == 0 || e.count > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed IFD pointer in tag ", e.tag));
    }
    ByteRange where;
    if (absl::Status s = ValueRange(e, entry_rel, 4 * max, &where); !s.ok()) {
      return s;
    }
    std::string buf;
    if (absl::Status s = Read(where.offset, where.length, &buf); !s.ok()) {
      return s;
    }
    for (uint32_t i = 0; i < e.count; ++i) out->push_back(U32(&buf[4 * i]));
    return absl::OkStatus();
  }

  // The SHORT or LONG values of an entry (strip offsets, byte counts), at
  // most `max` of them.
  absl::Status ReadNumbers(const Entry& e, uint64_t entry_rel, uint32_t max,
                           std::vector<uint64_t>* out) const {
    if ((e.type != 3 && e.type != 4) || e.count > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed offsets or counts in tag ", e.tag));
    }
    ByteRange where;
    if (absl::Status s = ValueRange(e, entry_rel, 4 * uint64_t{max}, &where);
        !s.ok()) {
      return s;
    }
    std::string buf;
    if (absl::Status s = Read(where.offset, where.length, &buf); !s.ok()) {
      return s;
    }
    for (uint32_t i = 0; i < e.count; ++i) {
      out->push_back(e.type == 3 ? U16(&buf[2 * i]) : U32(&buf[4 * i]));
    }
    return absl::OkStatus();
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
  mutable bool source_failed_ = false;
};

// Every IFD reachable from IFD0: the main chain, the Exif IFD (34665) of
// any of them, and SubIFDs (330) with their chains. The Exif IFD's own
// next pointer is not followed: writers leave junk there and readers
// ignore it. Revisits are skipped, so loops end.
absl::Status CollectIfds(const Tiff& tiff, uint32_t ifd0,
                         std::vector<std::pair<uint32_t, Ifd>>* out) {
  absl::flat_hash_set<uint32_t> seen;
  struct Todo {
    uint32_t rel;
    bool chain;
  };
  std::vector<Todo> todo = {{ifd0, true}};
  std::vector<uint32_t> targets;
  while (!todo.empty()) {
    Todo t = todo.back();
    todo.pop_back();
    for (uint32_t rel = t.rel; rel != 0 && seen.insert(rel).second;) {
      if (seen.size() > kMaxIfds) {
        return absl::InvalidArgumentError("too many IFDs");
      }
      Ifd ifd;
      if (absl::Status s = tiff.ReadIfd(rel, &ifd); !s.ok()) return s;
      for (uint32_t i = 0; i < ifd.count; ++i) {
        const Entry& e = ifd.entries[i];
        if (e.tag != kTagExifIfd && e.tag != kTagSubIfds) continue;
        targets.clear();
        if (absl::Status s =
                tiff.ReadPointers(e, rel + 2 + 12 * i, kMaxSubIfds, &targets);
            !s.ok()) {
          return s;
        }
        for (uint32_t target : targets) {
          todo.push_back({target, e.tag == kTagSubIfds});
        }
      }
      const uint32_t next = t.chain ? ifd.next : 0;
      out->emplace_back(rel, std::move(ifd));
      rel = next;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FindExifGpsRanges(const Source& source, uint64_t tiff_offset,
                               uint64_t tiff_length,
                               std::vector<ByteRange>* out) {
  Tiff tiff(source, tiff_offset, tiff_length);
  uint32_t ifd0;
  if (absl::Status s = tiff.Init(&ifd0, /*any_magic=*/true); !s.ok()) {
    return s;
  }
  if (ifd0 == 0) return absl::InvalidArgumentError("no IFD0");

  // GPSInfo belongs in IFD0, but multi-page TIFFs have one per page, and
  // some writers put it in the Exif IFD or a SubIFD, where exiftool still
  // finds it.
  std::vector<std::pair<uint32_t, Ifd>> ifds;
  absl::Status s = CollectIfds(tiff, ifd0, &ifds);
  if (!s.ok()) return s;
  std::vector<uint32_t> gps_ifds;
  for (const auto& [rel, ifd] : ifds) {
    for (const Entry& e : ifd.entries) {
      if (e.tag != kTagGpsInfo) continue;
      if ((e.type != 4 && e.type != 13) || e.count != 1 || e.value == 0) {
        return absl::InvalidArgumentError("malformed GPSInfo pointer");
      }
      gps_ifds.push_back(e.value);
    }
  }

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
  if (absl::Status s = tiff.Init(&ifd0, /*any_magic=*/true); !s.ok()) {
    return s;
  }
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

namespace {

// A tag an allowlist keeps, with the only shape it may have: a bounded
// value, so a crafted "Orientation" cannot keep a kilobyte of GPS data.
struct Allowed {
  uint16_t tag;
  uint16_t type;
  uint32_t max_count;
};

// IFD0 of an embedded EXIF: how to show the picture.
constexpr Allowed kExifIfd0Tags[] = {
    {0x0112, 3, 1},  // Orientation
    {0x011a, 5, 1},  // XResolution
    {0x011b, 5, 1},  // YResolution
    {0x0128, 3, 1},  // ResolutionUnit
    {0x0213, 3, 1},  // YCbCrPositioning
};
constexpr Allowed kIfd0TimeTags[] = {
    {0x0132, 2, 32},  // DateTime ("YYYY:MM:DD HH:MM:SS\0" is 20)
};
// The Exif IFD with keep_capture_time. ExifVersion ("0232", mandatory,
// says nothing about the picture) stays too: it is the IFD's first entry,
// and readers that check it would otherwise drop the times.
constexpr Allowed kExifTimeTags[] = {
    {0x9000, 7, 4},   // ExifVersion
    {0x9003, 2, 32},  // DateTimeOriginal
    {0x9004, 2, 32},  // CreateDate
    {0x9010, 2, 16},  // OffsetTime
    {0x9011, 2, 16},  // OffsetTimeOriginal
    {0x9012, 2, 16},  // OffsetTimeDigitized
    {0x9290, 2, 16},  // SubSecTime
    {0x9291, 2, 16},  // SubSecTimeOriginal
    {0x9292, 2, 16},  // SubSecTimeDigitized
};

template <size_t N>
bool IsAllowed(const Allowed (&list)[N], const Entry& e) {
  for (const Allowed& a : list) {
    if (a.tag == e.tag) return a.type == e.type && e.count <= a.max_count;
  }
  return false;
}

// Keeps entry `i` of the IFD at `rel` and its value; false (keep nothing)
// when the value does not lie inside the structure.
bool KeepEntry(const Tiff& tiff, uint32_t rel, uint32_t i, const Entry& e,
               std::vector<ByteRange>* keep) {
  const uint64_t entry_rel = rel + 2 + 12 * uint64_t{i};
  ByteRange value;
  if (!tiff.ValueRange(e, entry_rel, 64, &value).ok()) return false;
  keep->push_back({entry_rel, 12});
  keep->push_back(value);  // inside the entry when inline
  return true;
}

// A zeroed entry keeps its 2-byte type when that is a valid one: tag 0,
// count 0 and no value then read as an empty unknown tag everywhere, while
// type 0 makes exiftool drop the whole IFD when it is the first entry and
// libtiff refuse the directory. The type tells nothing about the picture.
void KeepType(uint64_t rel, uint32_t i, const Entry& e,
              std::vector<ByteRange>* keep) {
  if (TypeSize(e.type) != 0) {
    keep->push_back({rel + 2 + 12 * uint64_t{i} + 2, 2});
  }
}

// The bytes of an embedded EXIF that stay (relative to its TIFF header).
// Any error means nothing stays.
absl::Status ExifKeep(Tiff& tiff, const Profile& profile,
                      std::vector<ByteRange>* keep) {
  uint32_t ifd0;
  if (absl::Status s = tiff.Init(&ifd0); !s.ok()) return s;
  Ifd ifd;
  if (absl::Status s = tiff.ReadIfd(ifd0, &ifd); !s.ok()) return s;
  keep->push_back({0, 8});     // header
  keep->push_back({ifd0, 2});  // entry count; the next pointer is zeroed
  for (uint32_t i = 0; i < ifd.count; ++i) {
    const Entry& e = ifd.entries[i];
    if (IsAllowed(kExifIfd0Tags, e) ||
        (profile.keep_capture_time && IsAllowed(kIfd0TimeTags, e))) {
      if (!KeepEntry(tiff, ifd0, i, e, keep)) KeepType(ifd0, i, e, keep);
      continue;
    }
    KeepType(ifd0, i, e, keep);
    if (!profile.keep_capture_time || e.tag != kTagExifIfd ||
        (e.type != 4 && e.type != 13) || e.count != 1) {
      continue;
    }
    // The Exif IFD keeps its count and the capture-time entries only.
    Ifd exif;
    if (e.value == 0 || e.value == ifd0 ||
        !tiff.ReadIfd(e.value, &exif).ok()) {
      if (tiff.source_failed()) return absl::DataLossError("read failed");
      continue;  // unreadable: the pointer goes with everything else
    }
    keep->push_back({ifd0 + 2 + 12 * uint64_t{i}, 12});
    keep->push_back({e.value, 2});
    for (uint32_t j = 0; j < exif.count; ++j) {
      if (!IsAllowed(kExifTimeTags, exif.entries[j]) ||
          !KeepEntry(tiff, e.value, j, exif.entries[j], keep)) {
        KeepType(e.value, j, exif.entries[j], keep);
      }
    }
  }
  return absl::OkStatus();
}

// Appends the complement of `keep` (relative, any order) within
// [0, length), shifted by `base`.
void ZeroComplement(std::vector<ByteRange> keep, uint64_t base,
                    uint64_t length, std::vector<ByteRange>* out) {
  uint64_t at = 0;
  for (const ByteRange& k : Normalize(std::move(keep))) {
    if (k.offset >= length) break;
    if (k.offset > at) out->push_back({base + at, k.offset - at});
    at = std::max(at, std::min(k.end(), length));
  }
  if (at < length) out->push_back({base + at, length - at});
}

}  // namespace

absl::Status FindExifAllowlistRanges(const Source& source, uint64_t tiff_offset,
                                     uint64_t tiff_length,
                                     const Profile& profile,
                                     std::vector<ByteRange>* out) {
  if (tiff_offset > source.size() ||
      tiff_length > source.size() - tiff_offset) {
    return absl::OutOfRangeError("EXIF outside the file");
  }
  // Fail closed by construction: what is not positively kept is zeroed.
  Tiff tiff(source, tiff_offset, tiff_length);
  std::vector<ByteRange> keep;
  absl::Status s = ExifKeep(tiff, profile, &keep);
  if (tiff.source_failed()) return s.ok() ? absl::DataLossError("read") : s;
  if (!s.ok()) keep.clear();  // cannot follow it: all of it goes
  ZeroComplement(std::move(keep), tiff_offset, tiff_length, out);
  return absl::OkStatus();
}

namespace {

// Tags that decoding the image data of a TIFF, DNG or TIFF-based raw
// needs (plus orientation and resolution, which say how to show it).
bool IsDecodeTag(uint16_t tag) {
  switch (tag) {
    case 254: case 255: case 256: case 257: case 258: case 259: case 262:
    case 266: case 273: case 274: case 277: case 278: case 279: case 282:
    case 283: case 284: case 296: case 301: case 317: case 318: case 319:
    case 320: case 322: case 323: case 324: case 325: case 330: case 332:
    case 338: case 339: case 347: case 513: case 514: case 529: case 530:
    case 531: case 532: case 34675:
    case 33421: case 33422:  // CFARepeatPatternDim, CFAPattern
    case 50752:              // CR2 slices: how the raw strips interleave
      return true;
    // DNG rendering parameters past 50741 (a dropped tag now reads as
    // zeros, not as absent: a zero ForwardMatrix or ActiveArea renders
    // black or nothing). Names, digests, time codes and ProfileIFD do not.
    case 50778: case 50779: case 50780:  // CalibrationIlluminant1/2, scale
    case 50829: case 50830:              // ActiveArea, MaskedAreas
    case 50832: case 50834:              // As-shot/current pre-profile matrix
    case 50879: case 50885:              // ColorimetricReference, SRawType
    case 50937: case 50938: case 50939:  // ProfileHueSatMap
    case 50940: case 50941:              // ProfileToneCurve, EmbedPolicy
    case 50964: case 50965:              // ForwardMatrix1/2
    case 50974: case 50975:              // SubTileBlockSize, interleave
    case 50981: case 50982:              // ProfileLookTable
    case 51008: case 51009: case 51022:  // OpcodeList1-3 (lens corrections)
    case 51041:                          // NoiseProfile
    case 51107: case 51108: case 51109: case 51110: case 51112:
    case 51125:                          // DefaultUserCrop
    case 52525: case 52529: case 52530: case 52531: case 52532:
    case 52533: case 52534:              // gain map, third illuminant
      return true;
    // DNG colour/calibration/levels (50706-50741) minus free text, lens
    // and private data.
    case 50708:  // UniqueCameraModel
    case 50709:  // LocalizedCameraModel
    case 50735:  // CameraSerialNumber
    case 50736:  // LensInfo
    case 50740:  // DNGPrivateData (holds the original MakerNote)
      return false;
    default:
      return tag >= 50706 && tag <= 50741;
  }
}

constexpr int kMaxDepth = 8;  // SubIFDs nesting
// Strips or tiles of one image (a 20000-row scan in 1-row strips has
// 20000); more is treated as malformed and its pixels are not kept.
constexpr uint32_t kMaxBlocks = 1 << 20;

// The IFD pointers libtiff itself follows (ImageMagick reads the Exif IFD
// through it), as fixed-count fields it ignores, with a warning, when their
// count is wrong.
bool IsLibtiffPointer(const Entry& e) {
  return (e.tag == kTagExifIfd || e.tag == kTagGpsInfo) &&
         (e.type == 4 || e.type == 13);
}

// Collects the bytes a whole-TIFF allowlist view keeps; everything else in
// the file is zeroed (fail closed: an old copy of a relocated IFD, a value
// no entry points to any more, padding and trailers all go).
class TiffAllowlist {
 public:
  TiffAllowlist(const Tiff& tiff, const Profile& profile,
                std::vector<ByteRange>* keep)
      : tiff_(tiff), profile_(profile), keep_(keep) {}

  // An image IFD chain (main chain or a SubIFDs chain): every IFD keeps
  // its count, next pointer, every entry's tag, type and count, and the
  // values of the decode entries.
  absl::Status KeepChain(uint32_t rel, int depth) {
    while (rel != 0) {
      uint32_t next;
      if (absl::Status s = KeepIfd(rel, depth, &next); !s.ok()) return s;
      rel = next;
    }
    return absl::OkStatus();
  }

 private:
  // Every entry keeps its tag, type and count, so tags stay sorted and
  // known to readers (libtiff warns of tag-0 entries and unsorted tags and
  // ImageMagick then fails); a dropped tag loses its value: the inline
  // value field is zeroed, an out-of-line value keeps its offset field and
  // is zeroed where it lies (an all-zero string, an empty blob). Kept whole:
  // the decode entries, with keep_capture_time DateTime 306 (not the Exif
  // IFD: a TIFF's DateTime is the capture time for most writers), and the
  // image data they locate.
  absl::Status KeepIfd(uint32_t rel, int depth, uint32_t* next) {
    if (depth > kMaxDepth || !kept_.insert(rel).second ||
        kept_.size() > kMaxIfds) {
      return absl::InvalidArgumentError("IFDs too deep, many or looping");
    }
    Ifd ifd;
    if (absl::Status s = tiff_.ReadIfd(rel, &ifd); !s.ok()) return s;
    keep_->push_back({rel, 2});
    keep_->push_back({rel + 2 + 12 * uint64_t{ifd.count}, 4});  // next
    for (uint32_t i = 0; i < ifd.count; ++i) {
      const Entry& e = ifd.entries[i];
      const uint64_t entry_rel = rel + 2 + 12 * uint64_t{i};
      if (e.tag == kTagSubIfds) {
        std::vector<uint32_t> subs;
        if (absl::Status s =
                tiff_.ReadPointers(e, entry_rel, kMaxSubIfds, &subs);
            !s.ok()) {
          return s;
        }
        KeepValue(e, entry_rel);
        for (uint32_t sub : subs) {
          if (absl::Status s = KeepChain(sub, depth + 1); !s.ok()) return s;
        }
      } else if (IsDecodeTag(e.tag) ||
                 (profile_.keep_capture_time && e.tag == 306)) {
        KeepValue(e, entry_rel);
      } else if (IsLibtiffPointer(e)) {
        // Exif and GPS: the count and pointer are zeroed too, so readers
        // ignore the tag (libtiff warns of a wrong count, exiftool of empty
        // data) and follow nothing. An empty IFD behind a kept pointer
        // would be nicer, but libtiff fails on a directory of 0 entries and
        // on offset 0, and ImageMagick reads the Exif IFD. (Any other
        // pointer, Interop or a private type-IFD tag, keeps its count and
        // reads 0 below: libtiff errors on a count 0 tag it does not know.)
        // What a dropped pointer led to is referenced by nothing kept: it
        // is zeroed with the rest, at any depth.
        keep_->push_back({entry_rel, 4});  // tag, type
      } else {
        keep_->push_back({entry_rel, 8});  // tag, type, count
        // An out-of-line value keeps its offset field, pointing at zeros.
        if (TypeSize(e.type) * e.count > 4) {
          keep_->push_back({entry_rel + 8, 4});
        }
      }
    }
    if (absl::Status s = KeepImageData(ifd, rel); !s.ok()) return s;
    *next = ifd.next;
    return absl::OkStatus();
  }

  // The whole entry and, out of line, its value (clamped to the file: a
  // reader sees what the original had there).
  void KeepValue(const Entry& e, uint64_t entry_rel) {
    keep_->push_back({entry_rel, 12});
    const uint64_t size = TypeSize(e.type) * e.count;
    if (size > 4 && e.value < tiff_.length()) {
      keep_->push_back(
          {e.value, std::min<uint64_t>(size, tiff_.length() - e.value)});
    }
  }

  // The image data a kept IFD locates: strips, tiles, the JPEG thumbnail or
  // preview (offset and byte count pairs), clamped to the file. A malformed
  // pair keeps nothing: those pixels read as zeros (fail closed).
  absl::Status KeepImageData(const Ifd& ifd, uint32_t rel) {
    constexpr uint16_t kPairs[][2] = {{273, 279}, {324, 325}, {513, 514}};
    for (const auto& pair : kPairs) {
      std::vector<uint64_t> offsets, counts;
      for (uint32_t i = 0; i < ifd.count; ++i) {
        const Entry& e = ifd.entries[i];
        const uint64_t entry_rel = rel + 2 + 12 * uint64_t{i};
        if (e.tag == pair[0]) {
          tiff_.ReadNumbers(e, entry_rel, kMaxBlocks, &offsets).IgnoreError();
        } else if (e.tag == pair[1]) {
          tiff_.ReadNumbers(e, entry_rel, kMaxBlocks, &counts).IgnoreError();
        }
        if (tiff_.source_failed()) return absl::DataLossError("read failed");
      }
      for (size_t k = 0; k < offsets.size() && k < counts.size(); ++k) {
        if (offsets[k] < tiff_.length() && counts[k] > 0) {
          keep_->push_back({offsets[k], std::min<uint64_t>(
                                            counts[k],
                                            tiff_.length() - offsets[k])});
        }
      }
    }
    return absl::OkStatus();
  }

  const Tiff& tiff_;
  const Profile& profile_;
  std::vector<ByteRange>* keep_;
  absl::flat_hash_set<uint32_t> kept_;
};

}  // namespace

absl::Status FindTiffAllowlistRanges(const Source& source,
                                     const Profile& profile,
                                     std::vector<ByteRange>* out) {
  Tiff tiff(source, 0, source.size());
  uint32_t ifd0;
  if (absl::Status s = tiff.Init(&ifd0, /*any_magic=*/true); !s.ok()) {
    return s;
  }
  if (ifd0 == 0) return absl::InvalidArgumentError("no IFD0");
  std::vector<ByteRange> keep = {{0, 8}};  // header
  TiffAllowlist walk(tiff, profile, &keep);
  if (absl::Status s = walk.KeepChain(ifd0, 0); !s.ok()) return s;
  // Dropped values, the IFDs dropped pointers lead to (and everything
  // they reference, at any depth: nothing of theirs is kept) and bytes no
  // kept structure references.
  ZeroComplement(std::move(keep), 0, source.size(), out);
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
