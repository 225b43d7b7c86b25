// ISO-BMFF (MP4, MOV, 3GP, HEIF, AVIF) location finder.
//
// What is zeroed (every box header — size, type, largesize, uuid — stays, so
// parsers still skip the box; ranges cover everything after the header, for a
// FullBox including its version/flags):
//   * 'loci' (3GPP location), '\xA9xyz' (QuickTime/ffmpeg ISO 6709 string),
//     '@xyz' (Samsung's), 'gps ' and 'gps0' (dashcam): the whole payload,
//     wherever they appear in the walked tree (top level, moov, trak, mdia,
//     minf, udta, meta, moof, traf).
//   * ilst items (iTunes 'mdir' or QuickTime 'mdta' meta): for an item that is
//     a location — type '\xA9xyz'/'loci'/'gps '/'gps0', a 1-based index into
//     the sibling 'keys' box whose key names a location
//     (com.apple.quicktime.location.*, or any key containing "location" or
//     "gps", case-insensitive), or a '----' item whose 'name' does — the
//     payload of each of its 'data' boxes (type indicator, locale and value).
//     If the item's children cannot be parsed, or it has no 'data' box, the
//     item's whole payload. If the 'keys' box cannot be parsed, every item
//     of that ilst is treated as a location.
//   * XMP: 'uuid' BE7ACFCB-97A9-42E8-9C71-999491E3AFAC and 'XMP_' boxes, and
//     HEIF 'mime' items of content type application/rdf+xml: whatever
//     FindXmpLocationRanges reports; on its error, the whole XMP payload.
//   * HEIF/AVIF Exif items (meta/iinf 'Exif' located via iloc): whatever
//     FindExifGpsRanges reports for the TIFF structure after the 4-byte
//     offset; on its error, or if the item is split into non-contiguous
//     extents, every byte of the item.
// Errors (the caller fails closed): a child box overrunning its parent, bad
// box sizes inside walked containers, depth > 16, more than kMaxBoxes boxes,
// oversized/unparseable iinf/iloc when an Exif/XMP item exists, items stored
// by reference (construction_method 2). A top-level box running past the end
// of the file (truncated download) is clamped to the file: no bytes exist
// beyond it. Payloads of boxes we do not walk (mdat, free, stbl, ...) are
// never read.
#include "redact/isobmff.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "redact/exif.h"
#include "redact/redact.h"
#include "redact/xmp.h"

namespace scopedfs::redact {
namespace {

constexpr int kMaxDepth = 16;
constexpr uint64_t kMaxBoxes = 200000;        // headers visited per file
constexpr uint64_t kMaxMetaChildren = 4096;   // children of one meta box
constexpr uint64_t kMaxTableBytes = 16 << 20; // keys/iinf/iloc payloads read
constexpr uint64_t kMaxNameBytes = 4096;      // '----' item 'name' payload
constexpr uint64_t kMaxSamples = 1 << 22;     // chunks or samples of a timed
                                              // metadata track

constexpr uint32_t FourCC(const char (&s)[5]) {
  return (uint32_t{static_cast<uint8_t>(s[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[2])} << 8) |
         uint32_t{static_cast<uint8_t>(s[3])};
}

constexpr uint32_t kLoci = FourCC("loci");
constexpr uint32_t kXyz = 0xA978797Au;  // '\xA9' 'x' 'y' 'z'
constexpr uint32_t kAtXyz = FourCC("@xyz");  // Samsung's ISO 6709 string
constexpr uint32_t kGps = FourCC("gps ");
constexpr uint32_t kGps0 = FourCC("gps0");
constexpr uint32_t kUuid = FourCC("uuid");
constexpr uint32_t kXmp = FourCC("XMP_");
constexpr uint32_t kMeta = FourCC("meta");
constexpr uint32_t kIlst = FourCC("ilst");
constexpr uint32_t kKeys = FourCC("keys");
constexpr uint32_t kData = FourCC("data");
constexpr uint32_t kName = FourCC("name");
constexpr uint32_t kFreeform = FourCC("----");
constexpr uint32_t kHdlr = FourCC("hdlr");
constexpr uint32_t kIinf = FourCC("iinf");
constexpr uint32_t kInfe = FourCC("infe");
constexpr uint32_t kIloc = FourCC("iloc");
constexpr uint32_t kIdat = FourCC("idat");
constexpr uint32_t kExif = FourCC("Exif");
constexpr uint32_t kMime = FourCC("mime");

constexpr uint8_t kXmpUuid[16] = {0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9,
                                  0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94,
                                  0x91, 0xE3, 0xAF, 0xAC};

bool IsLocationBox(uint32_t type) {
  return type == kLoci || type == kXyz || type == kAtXyz || type == kGps ||
         type == kGps0;
}

// Containers whose children are walked (plain boxes, no version/flags).
bool IsContainer(uint32_t type) {
  switch (type) {
    case FourCC("moov"):
    case FourCC("trak"):
    case FourCC("mdia"):
    case FourCC("minf"):
    case FourCC("udta"):
    case FourCC("moof"):
    case FourCC("traf"):
      return true;
    default:
      return false;
  }
}

std::string TypeName(uint32_t type) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) {
    char c = static_cast<char>((type >> shift) & 0xFF);
    s.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?');
  }
  return s;
}

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

bool IsLocationKeyName(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  return absl::StartsWith(lower, "com.apple.quicktime.location.") ||
         absl::StrContains(lower, "location") ||
         absl::StrContains(lower, "gps");
}

absl::Status Malformed(absl::string_view what, uint64_t offset) {
  return absl::DataLossError(
      absl::StrCat("ISO-BMFF: ", what, " at offset ", offset));
}

struct Box {
  uint32_t type = 0;
  uint64_t offset = 0;  // first byte of the header
  uint64_t header = 0;  // header length (8 or 16, +16 for 'uuid')
  uint64_t end = 0;     // one past the last byte
  bool xmp_uuid = false;
  uint64_t payload() const { return offset + header; }
  uint64_t payload_size() const { return end - payload(); }
};

// Bytes of an in-memory table (keys, iinf, iloc payload), bounds-checked.
class Cursor {
 public:
  explicit Cursor(absl::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  uint64_t U(int n) {
    if (!ok_ || n < 0 || static_cast<size_t>(n) > data_.size() - pos_) {
      ok_ = false;
      return 0;
    }
    uint64_t v = BigEndian(data_.data() + pos_, n);
    pos_ += n;
    return v;
  }
  void Skip(uint64_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return;
    }
    pos_ += n;
  }
  // A NUL-terminated string; a missing terminator ends at the data's end.
  std::string CString() {
    if (!ok_) return "";
    size_t nul = data_.find('\0', pos_);
    size_t stop = nul == absl::string_view::npos ? data_.size() : nul;
    std::string s(data_.substr(pos_, stop - pos_));
    pos_ = nul == absl::string_view::npos ? data_.size() : nul + 1;
    return s;
  }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

struct ItemInfo {
  uint32_t type = 0;
  std::string content_type;
};

struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
};

class Walker {
 public:
  Walker(const Source& source, const Profile& profile,
         std::vector<ByteRange>* out)
      : source_(source), profile_(profile), out_(out) {}

  absl::Status Run() {
    return WalkChildren(0, source_.size(), /*depth=*/0, /*top=*/true);
  }

 protected:
  void Add(uint64_t offset, uint64_t end) {
    if (end > offset) out_->push_back(ByteRange{offset, end - offset});
  }
  void AddPayload(const Box& box) { Add(box.payload(), box.end); }

  // Reads the header of the box at `pos` inside [.., parent_end).
  absl::Status ReadHeader(uint64_t pos, uint64_t parent_end, bool top,
                          Box* box) {
    if (++boxes_ > kMaxBoxes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("ISO-BMFF: more than ", kMaxBoxes, " boxes"));
    }
    uint64_t avail = parent_end - pos;
    std::string h;
    absl::Status s = source_.Read(pos, std::min<uint64_t>(avail, 32), &h);
    if (!s.ok()) return s;
    if (h.size() < 8) return Malformed("truncated box header", pos);
    uint64_t size = BigEndian(h.data(), 4);
    box->type = static_cast<uint32_t>(BigEndian(h.data() + 4, 4));
    box->offset = pos;
    box->header = 8;
    if (size == 1) {
      if (h.size() < 16) return Malformed("truncated largesize", pos);
      size = BigEndian(h.data() + 8, 8);
      box->header = 16;
    } else if (size == 0) {
      size = avail;  // to the end of the file (top level) or the parent
    }
    if (box->type == kUuid) {
      if (h.size() < box->header + 16) {
        return Malformed("truncated uuid box header", pos);
      }
      box->xmp_uuid =
          std::memcmp(h.data() + box->header, kXmpUuid, sizeof(kXmpUuid)) == 0;
      box->header += 16;
    }
    if (size < box->header) {
      return Malformed(
          absl::StrCat("box '", TypeName(box->type), "' size ", size), pos);
    }
    if (size > avail) {
      if (!top) {
        return Malformed(absl::StrCat("box '", TypeName(box->type),
                                      "' overruns its parent"),
                         pos);
      }
      size = avail;  // truncated file: nothing exists past its end
    }
    box->end = pos + size;
    return absl::OkStatus();
  }

  // Lists the children of [begin, end) (headers only).
  absl::Status ListChildren(uint64_t begin, uint64_t end, bool top,
                            uint64_t max_children, std::vector<Box>* boxes) {
    uint64_t pos = begin;
    while (pos < end) {
      // Fewer than 8 bytes cannot hold a box (QuickTime ends 'udta' with a
      // 32-bit zero); nothing a parser reads.
      if (end - pos < 8) break;
      if (boxes->size() >= max_children) {
        return Malformed("too many children", begin);
      }
      Box box;
      absl::Status s = ReadHeader(pos, end, top, &box);
      if (!s.ok()) return s;
      boxes->push_back(box);
      pos = box.end;
    }
    return absl::OkStatus();
  }

  absl::Status WalkChildren(uint64_t begin, uint64_t end, int depth,
                            bool top) {
    if (depth > kMaxDepth) return Malformed("boxes nested too deep", begin);
    uint64_t pos = begin;
    while (pos < end) {
      if (end - pos < 8) break;
      Box box;
      absl::Status s = ReadHeader(pos, end, top, &box);
      if (!s.ok()) return s;
      s = HandleBox(box, depth);
      if (!s.ok()) return s;
      pos = box.end;
    }
    return absl::OkStatus();
  }

  absl::Status HandleBox(const Box& box, int depth) {
    if (IsLocationBox(box.type)) {
      if (profile_.video_location) AddPayload(box);
      return absl::OkStatus();
    }
    if (box.type == kUuid) {
      if (box.xmp_uuid && profile_.xmp_location) {
        Xmp(box.payload(), box.payload_size());
      }
      return absl::OkStatus();
    }
    if (box.type == kXmp) {
      if (profile_.xmp_location) Xmp(box.payload(), box.payload_size());
      return absl::OkStatus();
    }
    if (box.type == kMeta) return HandleMeta(box, depth + 1);
    if (box.type == kIlst) {
      // An ilst outside a meta box: no keys to map indices with.
      return HandleIlst(box, depth + 1, /*keys=*/nullptr, false);
    }
    if (IsContainer(box.type)) {
      return WalkChildren(box.payload(), box.end, depth + 1, false);
    }
    return absl::OkStatus();
  }

  void Xmp(uint64_t offset, uint64_t length) {
    std::vector<ByteRange> found;
    absl::Status s = FindXmpLocationRanges(source_, offset, length, &found);
    if (!s.ok()) {
      Add(offset, offset + length);
      return;
    }
    for (const ByteRange& r : found) {
      // Trust only ranges inside the packet; anything else: the packet.
      if (r.offset < offset || r.length > length ||
          r.offset - offset > length - r.length) {
        Add(offset, offset + length);
        return;
      }
    }
    out_->insert(out_->end(), found.begin(), found.end());
  }

  // 'meta' is a FullBox in ISO (version/flags before the children) but a
  // plain container in QuickTime ('hdlr' right after the header).
  absl::Status HandleMeta(const Box& meta, int depth) {
    if (depth > kMaxDepth) return Malformed("boxes nested too deep", meta.offset);
    uint64_t begin = meta.payload();
    if (meta.payload_size() < 4) return absl::OkStatus();  // empty
    std::string head;
    absl::Status s = source_.Read(
        begin, std::min<uint64_t>(meta.payload_size(), 8), &head);
    if (!s.ok()) return s;
    bool quicktime = false;
    if (head.size() >= 8) {
      uint32_t second = static_cast<uint32_t>(BigEndian(head.data() + 4, 4));
      uint64_t first = BigEndian(head.data(), 4);
      quicktime = second == kHdlr || second == kKeys || second == kIlst ||
                  (first >= 8 && first <= meta.payload_size() &&
                   second == kData);
    }
    if (!quicktime) begin += 4;  // version + flags

    std::vector<Box> children;
    s = ListChildren(begin, meta.end, false, kMaxMetaChildren, &children);
    if (!s.ok()) return s;

    // keys: 1-based key index -> is a location key.
    std::set<uint32_t> location_keys;
    bool have_keys = false;
    bool keys_malformed = false;
    const Box* iinf = nullptr;
    const Box* iloc = nullptr;
    const Box* idat = nullptr;
    for (const Box& child : children) {
      if (child.type == kKeys) {
        have_keys = true;
        if (!ParseKeys(child, &location_keys)) keys_malformed = true;
      } else if (child.type == kIinf) {
        iinf = &child;
      } else if (child.type == kIloc) {
        iloc = &child;
      } else if (child.type == kIdat) {
        idat = &child;
      }
    }
    for (const Box& child : children) {
      if (child.type == kIlst) {
        s = HandleIlst(child, depth + 1, have_keys ? &location_keys : nullptr,
                       keys_malformed);
      } else if (child.type == kKeys || child.type == kIinf ||
                 child.type == kIloc || child.type == kIdat) {
        continue;
      } else {
        s = HandleBox(child, depth);
      }
      if (!s.ok()) return s;
    }
    if (iinf != nullptr) return HandleItems(*iinf, iloc, idat);
    return absl::OkStatus();
  }

  // QuickTime 'keys': version/flags, entry_count, then entries of
  // key_size (incl. itself and the namespace), key_namespace, key_value.
  bool ParseKeys(const Box& keys, std::set<uint32_t>* location_keys) {
    if (keys.payload_size() > kMaxTableBytes) return false;
    std::string data;
    if (!source_.Read(keys.payload(), keys.payload_size(), &data).ok()) {
      return false;
    }
    Cursor c(data);
    c.Skip(4);
    uint64_t count = c.U(4);
    if (!c.ok()) return false;
    for (uint64_t i = 1; i <= count; ++i) {
      uint64_t size = c.U(4);
      c.Skip(4);  // namespace ('mdta')
      if (!c.ok() || size < 8 || size - 8 > c.remaining()) return false;
      std::string name(data.data() + c.pos(), size - 8);
      c.Skip(size - 8);
      if (IsLocationKeyName(name)) {
        if (i > UINT32_MAX) return false;
        location_keys->insert(static_cast<uint32_t>(i));
      }
    }
    return true;
  }

  absl::Status HandleIlst(const Box& ilst, int depth,
                          const std::set<uint32_t>* location_keys,
                          bool keys_malformed) {
    if (depth > kMaxDepth) return Malformed("boxes nested too deep", ilst.offset);
    std::vector<Box> items;
    absl::Status s =
        ListChildren(ilst.payload(), ilst.end, false, kMaxBoxes, &items);
    if (!s.ok()) return s;
    if (!profile_.video_location) return absl::OkStatus();
    for (const Box& item : items) {
      bool location = keys_malformed || IsLocationBox(item.type) ||
                      (location_keys != nullptr &&
                       location_keys->count(item.type) > 0);
      std::vector<Box> children;
      absl::Status cs =
          ListChildren(item.payload(), item.end, false, kMaxBoxes, &children);
      if (!cs.ok()) {
        // Cannot see inside: a location item, or one we cannot vouch for
        // (e.g. a '----' whose name we cannot read), loses its payload.
        if (location || item.type == kFreeform) AddPayload(item);
        if (absl::IsResourceExhausted(cs)) return cs;
        continue;
      }
      if (!location && item.type == kFreeform) {
        for (const Box& child : children) {
          if (child.type != kName) continue;
          if (child.payload_size() > kMaxNameBytes) {
            location = true;  // cannot check it: redact
            break;
          }
          std::string name;
          s = source_.Read(child.payload(), child.payload_size(), &name);
          if (!s.ok()) return s;
          // 'name' is a FullBox: version/flags, then the name.
          if (name.size() < 4 || IsLocationKeyName(name.substr(4))) {
            location = true;
          }
        }
      }
      if (!location) continue;
      bool have_data = false;
      for (const Box& child : children) {
        if (child.type == kData) {
          AddPayload(child);
          have_data = true;
        }
      }
      if (!have_data) AddPayload(item);  // non-standard: redact it all
    }
    return absl::OkStatus();
  }

  // HEIF items: the Exif item and XMP ('mime', application/rdf+xml) items.
  absl::Status HandleItems(const Box& iinf, const Box* iloc, const Box* idat) {
    if (!profile_.exif_gps && !profile_.xmp_location) return absl::OkStatus();
    std::map<uint32_t, ItemInfo> items;
    absl::Status s = ParseIinf(iinf, &items);
    if (!s.ok()) return s;
    std::map<uint32_t, ItemInfo> wanted;
    for (const auto& [id, info] : items) {
      bool exif = info.type == kExif && profile_.exif_gps;
      bool xmp = info.type == kMime && profile_.xmp_location &&
                 absl::EqualsIgnoreCase(
                     absl::StripAsciiWhitespace(info.content_type),
                     "application/rdf+xml");
      if (exif || xmp) wanted[id] = info;
    }
    if (wanted.empty()) return absl::OkStatus();
    if (iloc == nullptr) return Malformed("Exif/XMP item without iloc", iinf.offset);
    std::map<uint32_t, std::vector<Extent>> extents;
    s = ParseIloc(*iloc, idat, wanted, &extents);
    if (!s.ok()) return s;
    for (const auto& [id, info] : wanted) {
      auto it = extents.find(id);
      if (it == extents.end()) continue;  // no location in iloc: not stored
      const std::vector<Extent>& ext = it->second;
      if (ext.empty()) continue;
      // Contiguous extents form one range; anything else is redacted whole.
      bool contiguous = true;
      for (size_t i = 1; i < ext.size(); ++i) {
        if (ext[i].offset != ext[i - 1].offset + ext[i - 1].length) {
          contiguous = false;
        }
      }
      if (!contiguous) {
        for (const Extent& e : ext) Add(e.offset, e.offset + e.length);
        continue;
      }
      uint64_t start = ext.front().offset;
      uint64_t length = ext.back().offset + ext.back().length - start;
      if (info.type == kMime) {
        Xmp(start, length);
      } else {
        ExifItem(start, length);
      }
    }
    return absl::OkStatus();
  }

  // The Exif item: a 4-byte big-endian offset from after itself to the TIFF
  // header ("Exif\0\0" usually sits in between), then the TIFF structure.
  void ExifItem(uint64_t start, uint64_t length) {
    std::string head;
    if (length < 4 || !source_.Read(start, 4, &head).ok()) {
      Add(start, start + length);
      return;
    }
    uint64_t skip = BigEndian(head.data(), 4);
    if (skip > length - 4) {
      Add(start, start + length);
      return;
    }
    uint64_t tiff = start + 4 + skip;
    uint64_t tiff_length = length - 4 - skip;
    // Some writers put the offset as 0 with "Exif\0\0" still in front.
    std::string magic;
    if (tiff_length >= 6 && source_.Read(tiff, 6, &magic).ok() &&
        magic == absl::string_view("Exif\0\0", 6)) {
      tiff += 6;
      tiff_length -= 6;
    }
    std::vector<ByteRange> found;
    absl::Status s = FindExifGpsRanges(source_, tiff, tiff_length, &found);
    if (!s.ok()) {
      Add(start, start + length);
      return;
    }
    for (const ByteRange& r : found) {
      if (r.offset < start || r.length > length ||
          r.offset - start > length - r.length) {
        Add(start, start + length);
        return;
      }
    }
    out_->insert(out_->end(), found.begin(), found.end());
  }

  absl::Status ReadTable(const Box& box, std::string* data) {
    if (box.payload_size() > kMaxTableBytes) {
      return Malformed(absl::StrCat("'", TypeName(box.type), "' too large"),
                       box.offset);
    }
    return source_.Read(box.payload(), box.payload_size(), data);
  }

  // `all`, if given, also gets every infe entry in order, duplicates and
  // version 0/1 entries (which have no item_type: type 0) included.
  absl::Status ParseIinf(
      const Box& iinf, std::map<uint32_t, ItemInfo>* items,
      std::vector<std::pair<uint32_t, ItemInfo>>* all = nullptr) {
    std::string data;
    absl::Status s = ReadTable(iinf, &data);
    if (!s.ok()) return s;
    Cursor c(data);
    uint64_t version = c.U(1);
    c.Skip(3);
    uint64_t count = c.U(version == 0 ? 2 : 4);
    if (!c.ok()) return Malformed("truncated iinf", iinf.offset);
    // The entries are 'infe' boxes; parse them from the buffer.
    for (uint64_t i = 0; i < count; ++i) {
      if (c.remaining() < 8) return Malformed("truncated iinf", iinf.offset);
      size_t box_start = c.pos();
      uint64_t size = c.U(4);
      uint32_t type = static_cast<uint32_t>(c.U(4));
      uint64_t header = 8;
      if (size == 1) {
        size = c.U(8);
        header = 16;
      } else if (size == 0) {
        size = data.size() - box_start;
      }
      if (!c.ok() || size < header || size > data.size() - box_start) {
        return Malformed("bad infe box", iinf.offset);
      }
      absl::string_view body(data.data() + box_start + header, size - header);
      c.Skip(size - header);
      if (type != kInfe) continue;
      Cursor e(body);
      uint64_t v = e.U(1);
      e.Skip(3);
      if (v < 2) {  // no item_type: not an Exif/XMP item
        if (all != nullptr) {
          uint64_t old_id = e.U(2);
          if (!e.ok()) return Malformed("truncated infe", iinf.offset);
          all->emplace_back(static_cast<uint32_t>(old_id), ItemInfo{});
        }
        continue;
      }
      uint64_t id = e.U(v == 2 ? 2 : 4);
      e.Skip(2);  // protection index
      ItemInfo info;
      info.type = static_cast<uint32_t>(e.U(4));
      if (!e.ok()) return Malformed("truncated infe", iinf.offset);
      e.CString();  // item_name
      if (info.type == kMime) info.content_type = e.CString();
      if (all != nullptr) all->emplace_back(static_cast<uint32_t>(id), info);
      if (items->count(static_cast<uint32_t>(id)) > 0) {
        // A duplicate ID: keep the one that needs redaction.
        if (info.type != kExif && info.type != kMime) continue;
      }
      (*items)[static_cast<uint32_t>(id)] = info;
    }
    return absl::OkStatus();
  }

  absl::Status ParseIloc(const Box& iloc, const Box* idat,
                         const std::map<uint32_t, ItemInfo>& wanted,
                         std::map<uint32_t, std::vector<Extent>>* extents) {
    std::string data;
    absl::Status s = ReadTable(iloc, &data);
    if (!s.ok()) return s;
    Cursor c(data);
    uint64_t version = c.U(1);
    c.Skip(3);
    uint64_t sizes = c.U(2);
    int offset_size = static_cast<int>(sizes >> 12);
    int length_size = static_cast<int>((sizes >> 8) & 0xF);
    int base_offset_size = static_cast<int>((sizes >> 4) & 0xF);
    int index_size = version >= 1 ? static_cast<int>(sizes & 0xF) : 0;
    auto valid = [](int n) { return n == 0 || n == 4 || n == 8; };
    if (version > 2 || !valid(offset_size) || !valid(length_size) ||
        !valid(base_offset_size) || !valid(index_size)) {
      return Malformed("unsupported iloc", iloc.offset);
    }
    uint64_t count = c.U(version < 2 ? 2 : 4);
    if (!c.ok()) return Malformed("truncated iloc", iloc.offset);
    const uint64_t file_size = source_.size();
    for (uint64_t i = 0; i < count; ++i) {
      uint32_t id = static_cast<uint32_t>(c.U(version < 2 ? 2 : 4));
      uint64_t method = 0;
      if (version >= 1) method = c.U(2) & 0xF;
      uint64_t data_ref = c.U(2);
      uint64_t base = c.U(base_offset_size);
      uint64_t extent_count = c.U(2);
      if (!c.ok()) return Malformed("truncated iloc", iloc.offset);
      bool want = wanted.count(id) > 0;
      if (want && data_ref != 0) {
        // Stored in another file (data reference): nothing here.
        want = false;
      }
      if (want && method == 2) {
        return Malformed("Exif/XMP item stored by item reference",
                         iloc.offset);
      }
      if (want && method > 2) {
        return Malformed("unknown iloc construction method", iloc.offset);
      }
      std::vector<Extent> list;
      for (uint64_t k = 0; k < extent_count; ++k) {
        c.U(index_size);
        uint64_t off = c.U(offset_size);
        uint64_t len = c.U(length_size);
        if (!c.ok()) return Malformed("truncated iloc", iloc.offset);
        if (!want) continue;
        uint64_t region_begin = 0;
        uint64_t region_end = file_size;
        if (method == 1) {
          if (idat == nullptr) {
            return Malformed("iloc refers to a missing idat", iloc.offset);
          }
          region_begin = idat->payload();
          region_end = idat->end;
        }
        uint64_t region = region_end - region_begin;
        if (base > region || off > region - base) {
          return Malformed("iloc extent outside the file", iloc.offset);
        }
        uint64_t start = region_begin + base + off;
        if (len == 0) len = region_end - start;  // "the whole resource"
        if (len > region_end - start) {
          return Malformed("iloc extent outside the file", iloc.offset);
        }
        list.push_back(Extent{start, len});
      }
      if (want) {
        std::vector<Extent>& dst = (*extents)[id];
        dst.insert(dst.end(), list.begin(), list.end());
      }
    }
    return absl::OkStatus();
  }

  const Source& source_;
  const Profile& profile_;
  std::vector<ByteRange>* out_;
  uint64_t boxes_ = 0;
};


// ---- kAllowlist -----------------------------------------------------------
//
// Keeps the boxes decoding needs and zeroes the payload of every other box
// (headers stay, so parsers still skip them):
//   * walked containers: moov, trak, edts, mdia, minf, stbl, mvex, moof,
//     traf, mfra; kept whole: the leaf boxes of IsKeptBox (sample tables,
//     headers, fragments, mdat) but the samples of timed metadata tracks
//     (handler 'meta' or 'camm': GPS logs), located by their sample tables
//     and trun boxes;
//   * the file-level HEIF/AVIF 'meta' whose hdlr is 'pict': its item
//     structure (hdlr, pitm, iloc, iinf, iref, idat, grpl, dinf, ipma) and
//     the image properties of IsKeptProperty stay; every other child is
//     zeroed. The data of non-image items (IsImageItem lists the image
//     ones) is zeroed wherever iloc puts it (mdat or idat), but for the Exif
//     item, which keeps what FindExifAllowlistRanges keeps;
//   * Canon's CR3 'uuid' (85C0B687-...): CNCV, CCTP, CTBO and THMB stay; the
//     CMT1-4 TIFF/EXIF blocks and anything else are zeroed;
//   * zeroed: udta, every other meta (QuickTime mdta keys/ilst, iTunes
//     mdir), every other uuid (XMP, PRVW, ...), free/skip/wide, unknown
//     boxes, and bytes after the last box.
// A box that cannot be followed zeroes the rest of its parent from its
// first byte; unparseable iinf/iloc and items stored by reference are
// errors, since their data cannot be located.

constexpr uint8_t kCanonUuid[16] = {0x85, 0xC0, 0xB6, 0x87, 0x82, 0x0F,
                                    0x11, 0xE0, 0x81, 0x11, 0xF4, 0xCE,
                                    0x46, 0x2B, 0x6A, 0x48};

bool IsAllowedContainer(uint32_t type) {
  switch (type) {
    case FourCC("moov"):
    case FourCC("trak"):
    case FourCC("edts"):
    case FourCC("mdia"):
    case FourCC("minf"):
    case FourCC("stbl"):
    case FourCC("mvex"):
    case FourCC("moof"):
    case FourCC("traf"):
    case FourCC("mfra"):
      return true;
    default:
      return false;
  }
}

// Leaf boxes kept whole: decoding structure and media data.
bool IsKeptBox(uint32_t type) {
  switch (type) {
    case FourCC("ftyp"): case FourCC("styp"): case FourCC("mdat"):
    case FourCC("mvhd"): case FourCC("tkhd"): case FourCC("elst"):
    case FourCC("mdhd"): case FourCC("hdlr"): case FourCC("elng"):
    case FourCC("vmhd"): case FourCC("smhd"): case FourCC("nmhd"):
    case FourCC("hmhd"): case FourCC("sthd"): case FourCC("gmhd"):
    case FourCC("dinf"): case FourCC("dref"): case FourCC("stsd"):
    case FourCC("stts"): case FourCC("stss"): case FourCC("ctts"):
    case FourCC("cslg"): case FourCC("stsc"): case FourCC("stsz"):
    case FourCC("stz2"): case FourCC("stco"): case FourCC("co64"):
    case FourCC("sgpd"): case FourCC("sbgp"): case FourCC("sdtp"):
    case FourCC("stps"): case FourCC("subs"): case FourCC("saiz"):
    case FourCC("saio"): case FourCC("tref"): case FourCC("trex"):
    case FourCC("mehd"): case FourCC("mfhd"): case FourCC("tfhd"):
    case FourCC("tfdt"): case FourCC("trun"): case FourCC("senc"):
    case FourCC("sidx"): case FourCC("tfra"): case FourCC("mfro"):
      return true;
    default:
      return false;
  }
}

// HEIF/AVIF item properties that describe how to decode and show an image.
bool IsKeptProperty(uint32_t type) {
  switch (type) {
    case FourCC("ispe"): case FourCC("pixi"): case FourCC("colr"):
    case FourCC("hvcC"): case FourCC("av1C"): case FourCC("avcC"):
    case FourCC("vvcC"): case FourCC("jpgC"): case FourCC("uncC"):
    case FourCC("cmpd"): case FourCC("irot"): case FourCC("imir"):
    case FourCC("clap"): case FourCC("pasp"): case FourCC("auxC"):
    case FourCC("rloc"): case FourCC("lsel"): case FourCC("a1op"):
    case FourCC("a1lx"): case FourCC("clli"): case FourCC("mdcv"):
    case FourCC("cclv"): case FourCC("amve"): case FourCC("iscl"):
      return true;
    default:
      return false;
  }
}

// Item types whose data is an image (or a derivation of images).
bool IsImageItem(uint32_t type) {
  switch (type) {
    case FourCC("hvc1"): case FourCC("hev1"): case FourCC("av01"):
    case FourCC("avc1"): case FourCC("vvc1"): case FourCC("jpeg"):
    case FourCC("j2k1"): case FourCC("unci"): case FourCC("hvt1"):
    case FourCC("lhv1"): case FourCC("grid"): case FourCC("iden"):
    case FourCC("iovl"): case FourCC("tmap"):
      return true;
    default:
      return false;
  }
}

class AllowlistWalker : public Walker {
 public:
  using Walker::Walker;

  absl::Status Run() {
    absl::Status s = Walk(0, source_.size(), /*depth=*/0, /*top=*/true);
    if (!s.ok()) return s;
    return FragmentedMetadataSamples();
  }

 private:
  // A 'traf' and the 'moof' it is in.
  struct Fragment {
    Box moof;
    Box traf;
  };

  absl::Status Walk(uint64_t begin, uint64_t end, int depth, bool top) {
    if (depth > kMaxDepth) return Malformed("boxes nested too deep", begin);
    uint64_t pos = begin;
    while (pos < end) {
      Box box;
      absl::Status s = end - pos < 8 ? Malformed("short box", pos)
                                     : ReadHeader(pos, end, top, &box);
      if (absl::IsDataLoss(s)) {
        Add(pos, end);  // cannot be followed: nothing after it is vouched for
        return absl::OkStatus();
      }
      if (!s.ok()) return s;
      s = Allow(box, depth);
      if (!s.ok()) return s;
      pos = box.end;
    }
    return absl::OkStatus();
  }

  absl::Status Allow(const Box& box, int depth) {
    if (box.type == FourCC("moof")) current_moof_ = box;
    if (box.type == FourCC("traf")) fragments_.push_back({current_moof_, box});
    if (box.type == FourCC("trex")) Trex(box);
    if (IsAllowedContainer(box.type)) {
      absl::Status s = Walk(box.payload(), box.end, depth + 1, false);
      if (!s.ok() || box.type != FourCC("trak")) return s;
      return TimedMetadataSamples(box);
    }
    if (IsKeptBox(box.type)) return absl::OkStatus();
    if (box.type == kMeta && depth == 0) return FileMeta(box);
    if (box.type == kUuid && IsCanonUuid(box)) return CanonUuid(box, depth);
    AddPayload(box);
    return absl::OkStatus();
  }

  // ---- Timed metadata tracks ----
  //
  // A track whose handler is 'meta' (GoPro GPMF, Apple mebx, Sony rtmd) or
  // 'camm' (Google camera motion) carries metadata, often a GPS log, as
  // samples in mdat: its samples are zeroed, located through the sample
  // tables (stco/co64, stsc, stsz/stz2) and, in movie fragments, through
  // each traf's tfhd and trun boxes (resolved after the walk, so a moov
  // after its fragments still counts).

  // The child of `parent` with `type` (first one), or false.
  bool FindChild(const Box& parent, uint32_t type, Box* found) {
    std::vector<Box> children;
    if (!ListChildren(parent.payload(), parent.end, false, kMaxMetaChildren,
                      &children)
             .ok()) {
      return false;
    }
    for (const Box& child : children) {
      if (child.type == type) {
        *found = child;
        return true;
      }
    }
    return false;
  }

  absl::Status TimedMetadataSamples(const Box& trak) {
    Box mdia, hdlr, minf, stbl;
    if (!FindChild(trak, FourCC("mdia"), &mdia) ||
        !FindChild(mdia, kHdlr, &hdlr) || hdlr.payload_size() < 12) {
      return absl::OkStatus();  // no handler: nothing says it is metadata
    }
    std::string h;
    absl::Status s = source_.Read(hdlr.payload(), 12, &h);
    if (!s.ok()) return s;
    const uint32_t handler = static_cast<uint32_t>(BigEndian(h.data() + 8, 4));
    if (handler != FourCC("meta") && handler != FourCC("camm")) {
      return absl::OkStatus();
    }
    if (!FindChild(mdia, FourCC("minf"), &minf) ||
        !FindChild(minf, FourCC("stbl"), &stbl)) {
      return absl::OkStatus();  // no sample table: no samples
    }
    Box tkhd;
    std::string t;
    if (FindChild(trak, FourCC("tkhd"), &tkhd) && tkhd.payload_size() >= 24 &&
        source_.Read(tkhd.payload(), 24, &t).ok()) {
      // track_ID follows the creation and modification times (4 or 8 bytes
      // each by version): its fragments' samples are metadata too.
      int at = t[0] == 1 ? 4 + 16 : 4 + 8;
      metadata_tracks_.insert(
          static_cast<uint32_t>(BigEndian(t.data() + at, 4)));
    }
    return ZeroSamples(trak, stbl);
  }

  absl::Status ZeroSamples(const Box& trak, const Box& stbl) {
    std::vector<uint64_t> chunks;
    std::vector<std::pair<uint64_t, uint64_t>> per_chunk;  // first, samples
    std::vector<uint32_t> sizes;
    uint64_t fixed_size = 0;
    uint64_t count = 0;
    absl::Status s = SampleTables(stbl, &chunks, &per_chunk, &fixed_size,
                                  &sizes, &count);
    if (!s.ok()) {
      return Malformed(absl::StrCat("metadata track's sample tables: ",
                                    s.message()),
                       trak.offset);
    }
    const uint64_t file_size = source_.size();
    uint64_t sample = 0;
    size_t entry = 0;
    for (uint64_t i = 0; i < chunks.size() && sample < count; ++i) {
      // stsc: the last entry whose first chunk (1-based) is <= i + 1.
      while (entry + 1 < per_chunk.size() &&
             per_chunk[entry + 1].first <= i + 1) {
        ++entry;
      }
      uint64_t n = per_chunk.empty() ? 0 : per_chunk[entry].second;
      n = std::min(n, count - sample);
      uint64_t bytes = 0;
      if (fixed_size != 0) {
        bytes = n * fixed_size;  // both < 2^32
      } else {
        for (uint64_t k = 0; k < n; ++k) bytes += sizes[sample + k];
      }
      sample += n;
      uint64_t at = chunks[i];
      if (at >= file_size) continue;
      Add(at, at + std::min(bytes, file_size - at));
    }
    return absl::OkStatus();
  }

  // Reads the sample tables of `stbl` (each at most kMaxTableBytes).
  absl::Status SampleTables(const Box& stbl, std::vector<uint64_t>* chunks,
                            std::vector<std::pair<uint64_t, uint64_t>>* stsc,
                            uint64_t* fixed_size, std::vector<uint32_t>* sizes,
                            uint64_t* count) {
    std::vector<Box> children;
    absl::Status s = ListChildren(stbl.payload(), stbl.end, false,
                                  kMaxMetaChildren, &children);
    if (!s.ok()) return s;
    bool have_chunks = false, have_stsc = false, have_sizes = false;
    for (const Box& child : children) {
      std::string data;
      switch (child.type) {
        case FourCC("stco"):
        case FourCC("co64"):
          s = ReadTable(child, &data);
          if (s.ok()) s = ChunkOffsets(data, child.type == FourCC("co64") ? 8
                                                                          : 4,
                                       chunks);
          have_chunks = true;
          break;
        case FourCC("stsc"):
          s = ReadTable(child, &data);
          if (s.ok()) s = SampleToChunk(data, stsc);
          have_stsc = true;
          break;
        case FourCC("stsz"):
        case FourCC("stz2"):
          s = ReadTable(child, &data);
          if (s.ok()) {
            s = SampleSizes(data, child.type == FourCC("stz2"), fixed_size,
                            sizes, count);
          }
          have_sizes = true;
          break;
        default:
          continue;
      }
      if (!s.ok()) return s;
    }
    if (!have_chunks && !have_stsc && !have_sizes) return absl::OkStatus();
    if (!have_chunks || !have_stsc || !have_sizes) {
      return absl::DataLossError("incomplete");
    }
    return absl::OkStatus();
  }

  static absl::Status ChunkOffsets(absl::string_view data, int width,
                                   std::vector<uint64_t>* chunks) {
    Cursor c(data);
    c.Skip(4);
    uint64_t n = c.U(4);
    if (!c.ok() || n > c.remaining() / width || n > kMaxSamples) {
      return absl::DataLossError("bad chunk offsets");
    }
    for (uint64_t i = 0; i < n; ++i) chunks->push_back(c.U(width));
    return absl::OkStatus();
  }

  static absl::Status SampleToChunk(
      absl::string_view data, std::vector<std::pair<uint64_t, uint64_t>>* out) {
    Cursor c(data);
    c.Skip(4);
    uint64_t n = c.U(4);
    if (!c.ok() || n > c.remaining() / 12) {
      return absl::DataLossError("bad stsc");
    }
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t first = c.U(4);
      uint64_t samples = c.U(4);
      c.Skip(4);  // sample description index
      if (!out->empty() && first <= out->back().first) {
        return absl::DataLossError("stsc not increasing");
      }
      out->emplace_back(first, samples);
    }
    return absl::OkStatus();
  }

  static absl::Status SampleSizes(absl::string_view data, bool compact,
                                  uint64_t* fixed_size,
                                  std::vector<uint32_t>* sizes,
                                  uint64_t* count) {
    Cursor c(data);
    c.Skip(4);
    int bits = 32;
    if (compact) {
      c.Skip(3);
      bits = static_cast<int>(c.U(1));
      if (bits != 4 && bits != 8 && bits != 16) {
        return absl::DataLossError("bad stz2 field size");
      }
    } else {
      *fixed_size = c.U(4);
    }
    *count = c.U(4);
    if (!c.ok()) return absl::DataLossError("bad sample sizes");
    if (*fixed_size != 0) return absl::OkStatus();
    if (*count > c.remaining() * 8 / bits || *count > kMaxSamples) {
      return absl::DataLossError("sample sizes past the table");
    }
    for (uint64_t i = 0; i < *count; ++i) {
      if (bits == 4) {
        uint64_t pair = c.U(1);
        sizes->push_back(static_cast<uint32_t>(pair >> 4));
        if (++i < *count) sizes->push_back(static_cast<uint32_t>(pair & 0xF));
      } else {
        sizes->push_back(static_cast<uint32_t>(c.U(bits / 8)));
      }
    }
    return absl::OkStatus();
  }

  // trex: a track's default sample size for its fragments.
  void Trex(const Box& trex) {
    std::string t;
    if (trex.payload_size() < 20 ||
        !source_.Read(trex.payload(), 20, &t).ok()) {
      return;
    }
    uint32_t track = static_cast<uint32_t>(BigEndian(t.data() + 4, 4));
    default_sizes_[track] = static_cast<uint32_t>(BigEndian(t.data() + 16, 4));
  }

  // The samples of metadata tracks in movie fragments: each traf's tfhd
  // names the track and the base offset, each trun a run of samples.
  absl::Status FragmentedMetadataSamples() {
    if (metadata_tracks_.empty()) return absl::OkStatus();
    uint64_t previous_moof = UINT64_MAX;
    uint64_t implicit = 0;  // where the previous traf's data ended
    for (const Fragment& f : fragments_) {
      bool first_in_moof = f.moof.offset != previous_moof;
      previous_moof = f.moof.offset;
      absl::Status s = FragmentSamples(f, first_in_moof, &implicit);
      if (!s.ok()) {
        return Malformed(absl::StrCat("metadata track fragment: ",
                                      s.message()),
                         f.traf.offset);
      }
    }
    return absl::OkStatus();
  }

  absl::Status FragmentSamples(const Fragment& f, bool first_in_moof,
                               uint64_t* implicit) {
    std::vector<Box> children;
    absl::Status s = ListChildren(f.traf.payload(), f.traf.end, false,
                                  kMaxMetaChildren, &children);
    if (!s.ok()) return s;
    std::string tfhd;
    for (const Box& child : children) {
      if (child.type != FourCC("tfhd")) continue;
      s = ReadTable(child, &tfhd);
      if (!s.ok()) return s;
      break;
    }
    Cursor c(tfhd);
    uint64_t flags = c.U(4) & 0xFFFFFF;
    uint32_t track = static_cast<uint32_t>(c.U(4));
    if (!c.ok()) return absl::DataLossError("no tfhd");
    // Offsets are computed modulo 2^64 (a negative data_offset wraps
    // back); a run outside the file is ignored: no bytes exist there.
    uint64_t base = 0;
    if (flags & 0x1) {
      base = c.U(8);
    } else if ((flags & 0x20000) || first_in_moof) {
      base = f.moof.offset;
    } else {
      base = *implicit;
    }
    if (flags & 0x2) c.U(4);  // sample description index
    if (flags & 0x8) c.U(4);  // default duration
    uint64_t default_size = default_sizes_[track];
    if (flags & 0x10) default_size = c.U(4);
    if (!c.ok()) return absl::DataLossError("truncated tfhd");
    const bool metadata = metadata_tracks_.count(track) > 0;
    uint64_t pos = base;
    for (const Box& child : children) {
      if (child.type != FourCC("trun")) continue;
      s = TrackRun(child, base, default_size, metadata, &pos);
      if (!s.ok()) return s;
    }
    *implicit = pos;
    return absl::OkStatus();
  }

  // One trun: its samples start at base + data_offset, or where the
  // previous run ended (*pos); *pos is set to where they end.
  absl::Status TrackRun(const Box& trun, uint64_t base,
                        uint64_t default_size, bool metadata, uint64_t* pos) {
    std::string data;
    absl::Status s = ReadTable(trun, &data);
    if (!s.ok()) return s;
    Cursor c(data);
    uint64_t flags = c.U(4) & 0xFFFFFF;
    uint64_t count = c.U(4);
    if (flags & 0x1) {
      int64_t offset = static_cast<int32_t>(static_cast<uint32_t>(c.U(4)));
      *pos = base + static_cast<uint64_t>(offset);
    }
    if (flags & 0x4) c.U(4);  // first sample flags
    // Per sample: duration, size, flags, composition offset (if flagged).
    int per_sample = 0;
    for (uint64_t bit : {0x100, 0x200, 0x400, 0x800}) {
      if (flags & bit) per_sample += 4;
    }
    if (!c.ok() || (per_sample != 0 && count > c.remaining() / per_sample)) {
      return absl::DataLossError("bad trun");
    }
    uint64_t bytes = 0;
    if (!(flags & 0x200)) {
      bytes = count * default_size;  // both < 2^32
    } else {
      for (uint64_t i = 0; i < count; ++i) {
        if (flags & 0x100) c.U(4);
        bytes += c.U(4);
        if (flags & 0x400) c.U(4);
        if (flags & 0x800) c.U(4);
      }
    }
    const uint64_t start = *pos;
    *pos = start + bytes;
    const uint64_t file_size = source_.size();
    if (metadata && start < file_size) {
      Add(start, start + std::min(bytes, file_size - start));
    }
    return absl::OkStatus();
  }

  bool IsCanonUuid(const Box& box) {
    std::string id;
    return source_.Read(box.payload() - 16, 16, &id).ok() &&
           std::memcmp(id.data(), kCanonUuid, sizeof(kCanonUuid)) == 0;
  }

  absl::Status CanonUuid(const Box& uuid, int depth) {
    std::vector<Box> children;
    absl::Status s =
        ListChildren(uuid.payload(), uuid.end, false, kMaxMetaChildren,
                     &children);
    if (absl::IsResourceExhausted(s)) return s;
    if (!s.ok() || depth + 1 > kMaxDepth) {
      AddPayload(uuid);
      return absl::OkStatus();
    }
    for (const Box& child : children) {
      bool keep = child.type == FourCC("CNCV") ||
                  child.type == FourCC("CCTP") ||
                  child.type == FourCC("CTBO") || child.type == FourCC("THMB");
      if (!keep) AddPayload(child);  // CMT1-4 (TIFF/EXIF) and the rest
    }
    return absl::OkStatus();
  }

  // The handler type of an ISO 'meta' (a FullBox), 0 if none.
  uint32_t HandlerOf(const std::vector<Box>& children) {
    for (const Box& child : children) {
      if (child.type != kHdlr) continue;
      std::string h;
      if (child.payload_size() < 12 ||
          !source_.Read(child.payload(), 12, &h).ok()) {
        return 0;
      }
      return static_cast<uint32_t>(BigEndian(h.data() + 8, 4));
    }
    return 0;
  }

  absl::Status FileMeta(const Box& meta) {
    std::vector<Box> children;
    absl::Status s = meta.payload_size() < 4
                         ? Malformed("short meta", meta.offset)
                         : ListChildren(meta.payload() + 4, meta.end, false,
                                        kMaxMetaChildren, &children);
    if (absl::IsResourceExhausted(s)) return s;
    if (!s.ok() || HandlerOf(children) != FourCC("pict")) {
      AddPayload(meta);  // not HEIF's item structure: metadata
      return absl::OkStatus();
    }
    const Box* iinf = nullptr;
    const Box* iloc = nullptr;
    const Box* idat = nullptr;
    for (const Box& child : children) {
      switch (child.type) {
        case FourCC("iinf"): iinf = &child; break;
        case FourCC("iloc"): iloc = &child; break;
        case FourCC("idat"): idat = &child; break;
        case FourCC("iprp"):
          s = Iprp(child);
          if (!s.ok()) return s;
          continue;
        case FourCC("hdlr"): case FourCC("pitm"): case FourCC("iref"):
        case FourCC("grpl"): case FourCC("dinf"):
          continue;
        default:
          AddPayload(child);  // xml, bxml, udta, unknown
          continue;
      }
    }
    if (iinf == nullptr) return absl::OkStatus();  // no items
    return MetadataItems(*iinf, iloc, idat);
  }

  absl::Status Iprp(const Box& iprp) {
    std::vector<Box> children;
    absl::Status s = ListChildren(iprp.payload(), iprp.end, false,
                                  kMaxMetaChildren, &children);
    if (!s.ok()) return s;  // properties decide decoding: fail closed
    for (const Box& child : children) {
      if (child.type == FourCC("ipma")) continue;
      if (child.type != FourCC("ipco")) {
        AddPayload(child);
        continue;
      }
      std::vector<Box> properties;
      s = ListChildren(child.payload(), child.end, false, kMaxMetaChildren,
                       &properties);
      if (!s.ok()) return s;
      for (const Box& p : properties) {
        if (!IsKeptProperty(p.type)) AddPayload(p);  // udes, crtt, unknown
      }
    }
    return absl::OkStatus();
  }

  // Zeroes the data of every item that is not an image; the Exif item keeps
  // what the EXIF allowlist keeps.
  absl::Status MetadataItems(const Box& iinf, const Box* iloc,
                             const Box* idat) {
    std::map<uint32_t, ItemInfo> unused;
    std::vector<std::pair<uint32_t, ItemInfo>> all;
    absl::Status s = ParseIinf(iinf, &unused, &all);
    if (!s.ok()) return s;
    // An ID listed twice is metadata if either entry says so.
    std::map<uint32_t, ItemInfo> metadata;
    for (const auto& [id, info] : all) {
      if (IsImageItem(info.type)) continue;
      auto it = metadata.find(id);
      if (it == metadata.end() || it->second.type == kExif) {
        metadata[id] = info;
      }
    }
    if (metadata.empty() || iloc == nullptr) return absl::OkStatus();
    std::map<uint32_t, std::vector<Extent>> extents;
    s = ParseIloc(*iloc, idat, metadata, &extents);
    if (!s.ok()) return s;
    for (const auto& [id, list] : extents) {
      s = MetadataItem(metadata[id].type, list);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status MetadataItem(uint32_t type, const std::vector<Extent>& list) {
    bool contiguous = !list.empty();
    for (size_t i = 1; i < list.size(); ++i) {
      if (list[i].offset != list[i - 1].offset + list[i - 1].length) {
        contiguous = false;
      }
    }
    if (type != kExif || !contiguous) {
      for (const Extent& e : list) Add(e.offset, e.offset + e.length);
      return absl::OkStatus();
    }
    uint64_t start = list.front().offset;
    uint64_t length = list.back().offset + list.back().length - start;
    return ExifItemAllowlist(start, length);
  }

  // The Exif item: a 4-byte offset to the TIFF header (past "Exif\0\0"),
  // then the TIFF structure; the offset field stays (structure).
  absl::Status ExifItemAllowlist(uint64_t start, uint64_t length) {
    std::string head;
    uint64_t skip = UINT64_MAX;
    if (length >= 4) {
      absl::Status s = source_.Read(start, 4, &head);
      if (!s.ok()) return s;
      skip = BigEndian(head.data(), 4);
    }
    if (skip > length - 4 || length < 4) {
      Add(start, start + length);
      return absl::OkStatus();
    }
    uint64_t tiff = start + 4 + skip;
    std::string magic;
    if (start + length - tiff >= 6) {
      absl::Status s = source_.Read(tiff, 6, &magic);
      if (!s.ok()) return s;
      if (magic == absl::string_view("Exif\0\0", 6)) tiff += 6;
    }
    std::vector<ByteRange> found;
    absl::Status s = FindExifAllowlistRanges(
        source_, tiff, start + length - tiff, profile_, &found);
    if (!s.ok()) return s;
    for (const ByteRange& r : found) {
      if (r.offset < start || r.offset > start + length ||
          r.length > start + length - r.offset) {
        Add(start, start + length);  // not inside the item: trust none
        return absl::OkStatus();
      }
    }
    out_->insert(out_->end(), found.begin(), found.end());
    return absl::OkStatus();
  }

  Box current_moof_;
  std::vector<Fragment> fragments_;
  std::set<uint32_t> metadata_tracks_;      // track_IDs
  std::map<uint32_t, uint32_t> default_sizes_;  // trex, by track_ID
};

}  // namespace

absl::Status FindIsoBmffLocationRanges(const Source& source,
                                       const Profile& profile,
                                       std::vector<ByteRange>* out) {
  std::vector<ByteRange> found;
  Walker walker(source, profile, &found);
  absl::Status s = walker.Run();
  if (!s.ok()) return s;
  out->insert(out->end(), found.begin(), found.end());
  return absl::OkStatus();
}

absl::Status FindIsoBmffAllowlistRanges(const Source& source,
                                        const Profile& profile,
                                        std::vector<ByteRange>* out) {
  std::vector<ByteRange> found;
  absl::Status s = AllowlistWalker(source, profile, &found).Run();
  if (!s.ok()) return s;
  out->insert(out->end(), found.begin(), found.end());
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
