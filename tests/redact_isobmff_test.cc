// ISO-BMFF location finder: synthetic box trees with exact expected ranges,
// malformed/fuzzed input, real ffmpeg/exiftool files, and a 1 GiB sparse file.
#include "tests/file_util.h"
#include "tests/shell.h"
#include "redact/isobmff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {
namespace {

using ::scopedfs::testing::ReadFile;
using ::scopedfs::testing::WriteFile;

// ---- Box writer -----------------------------------------------------------

std::string BE(uint64_t v, int n) {
  std::string s(n, '\0');
  for (int i = n - 1; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xFF);
  return s;
}
std::string BE16(uint64_t v) { return BE(v, 2); }
std::string BE32(uint64_t v) { return BE(v, 4); }
std::string BE64(uint64_t v) { return BE(v, 8); }

const std::string kXyz = "\xA9xyz";

std::string Box(absl::string_view type, absl::string_view payload) {
  return absl::StrCat(BE32(8 + payload.size()), type, payload);
}
std::string FullBox(absl::string_view type, uint8_t version, uint32_t flags,
                    absl::string_view payload) {
  return Box(type, absl::StrCat(BE(version, 1), BE(flags, 3), payload));
}
std::string LargeBox(absl::string_view type, absl::string_view payload) {
  return absl::StrCat(BE32(1), type, BE64(16 + payload.size()), payload);
}
// size == 0: extends to the end of the file (or parent).
std::string OpenBox(absl::string_view type, absl::string_view payload) {
  return absl::StrCat(BE32(0), type, payload);
}
std::string Item(uint32_t index, absl::string_view payload) {
  return absl::StrCat(BE32(8 + payload.size()), BE32(index), payload);
}
// An ilst 'data' box: type indicator (1 = UTF-8), locale, value.
std::string Data(absl::string_view value) {
  return Box("data", absl::StrCat(BE32(1), BE32(0), value));
}
std::string Hdlr(absl::string_view handler) {
  return FullBox("hdlr", 0, 0,
                 absl::StrCat(BE32(0), handler, std::string(12, '\0'), "h",
                              std::string(1, '\0')));
}
std::string Keys(const std::vector<std::string>& names) {
  std::string entries;
  for (const std::string& n : names) {
    absl::StrAppend(&entries, BE32(8 + n.size()), "mdta", n);
  }
  return FullBox("keys", 0, 0, absl::StrCat(BE32(names.size()), entries));
}
std::string Ftyp(absl::string_view brand) {
  return Box("ftyp", absl::StrCat(brand, BE32(0), brand, "mp41"));
}
std::string Xyz(absl::string_view iso6709) {
  return Box(kXyz, absl::StrCat(BE16(iso6709.size()), BE16(0x15c7), iso6709));
}

// ---- Helpers --------------------------------------------------------------

// Wraps a source and counts the bytes read.
class CountingSource : public Source {
 public:
  explicit CountingSource(const Source& inner) : inner_(inner) {}
  uint64_t size() const override { return inner_.size(); }
  absl::Status Read(uint64_t offset, size_t length,
                    std::string* out) const override {
    bytes_ += length;
    ++reads_;
    return inner_.Read(offset, length, out);
  }
  uint64_t bytes() const { return bytes_; }
  uint64_t reads() const { return reads_; }

 private:
  const Source& inner_;
  mutable uint64_t bytes_ = 0;
  mutable uint64_t reads_ = 0;
};

absl::StatusOr<std::vector<ByteRange>> Find(absl::string_view data,
                                            const Profile& profile = {}) {
  StringSource source(data);
  std::vector<ByteRange> out;
  absl::Status s = FindIsoBmffLocationRanges(source, profile, &out);
  if (!s.ok()) return s;
  for (const ByteRange& r : out) {
    // Raw output: no empty ranges, all inside the source.
    EXPECT_GT(r.length, 0u);
    EXPECT_LE(r.offset, data.size());
    EXPECT_LE(r.length, data.size() - r.offset);
  }
  return Normalize(out);
}

// The range of `box`'s payload (after an 8-byte header) inside `file`;
// `box` must occur exactly once.
ByteRange PayloadOf(const std::string& file, const std::string& box,
                    uint64_t header = 8) {
  size_t at = file.find(box);
  EXPECT_NE(at, std::string::npos);
  EXPECT_EQ(file.find(box, at + 1), std::string::npos) << "not unique";
  return ByteRange{at + header, box.size() - header};
}

bool Covered(const std::vector<ByteRange>& ranges, uint64_t offset,
             uint64_t length) {
  for (uint64_t i = offset; i < offset + length; ++i) {
    bool in = false;
    for (const ByteRange& r : ranges) {
      if (i >= r.offset && i < r.end()) in = true;
    }
    if (!in) return false;
  }
  return true;
}

std::string Apply(const std::string& data, const std::vector<ByteRange>& r) {
  std::string copy = data;
  ZeroRanges(r, 0, copy.data(), copy.size());
  return copy;
}

// ---- Synthetic files ------------------------------------------------------

struct Mp4 {
  std::string file;
  std::string loci, xyz, gps, gps0, ilst_xyz_data, nested_loci;
};

// An MP4 with every kind of location box, plus decoys in mdat/stbl.
Mp4 MakeMp4() {
  Mp4 m;
  m.loci = FullBox("loci", 0, 0,
                   absl::StrCat(BE16(0x15c7), "Eiffel", std::string(1, '\0'),
                                std::string(1, '\0'), BE32(0x00030e00),
                                BE32(0x002f0000), BE32(0x00001000), "earth",
                                std::string(1, '\0'), "LOCI",
                                std::string(1, '\0')));
  m.nested_loci = FullBox("loci", 0, 0, "TRACKLOCI-PAYLOAD");
  m.xyz = Xyz("+48.8584+002.2945/");
  m.gps = Box("gps ", "GPS-DASHCAM-INDEX-0123456789");
  m.gps0 = Box("gps0", "GPS0-DASHCAM");
  m.ilst_xyz_data = Data("+48.8584+002.2945+035.000/");
  std::string stbl = Box(
      "stbl", Box("stsd", "decoy: loci gps \xA9xyz gps0 uuid meta udta"));
  std::string trak = Box(
      "trak", absl::StrCat(Box("tkhd", std::string(84, 't')),
                           Box("mdia", Box("minf", absl::StrCat(
                                                       Box("vmhd", "vv"),
                                                       stbl))),
                           Box("udta", m.nested_loci)));
  std::string meta = FullBox(
      "meta", 0, 0,
      absl::StrCat(Hdlr("mdir"),
                   Box("ilst", absl::StrCat(Box("\xA9nam", Data("Title")),
                                            Box(kXyz, m.ilst_xyz_data),
                                            Box("\xA9too", Data("Lavf"))))));
  std::string udta =
      Box("udta", absl::StrCat(Box("\xA9swr", "swr"), m.xyz, m.loci, m.gps,
                               meta, BE32(0)));  // QuickTime 0 terminator
  std::string moov = Box(
      "moov", absl::StrCat(Box("mvhd", std::string(100, 'm')), trak, udta));
  std::string mdat =
      Box("mdat", "mdat decoy: \x01\x01\x01\x10loci0123 gps0 \xA9xyz");
  m.file = absl::StrCat(Ftyp("isom"), Box("free", ""), mdat, moov, m.gps0);
  return m;
}

TEST(IsoBmffTest, Mp4LocationBoxesExact) {
  Mp4 m = MakeMp4();
  auto ranges = Find(m.file);
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  std::vector<ByteRange> want = Normalize({
      PayloadOf(m.file, m.loci),
      PayloadOf(m.file, m.nested_loci),
      PayloadOf(m.file, m.xyz),
      PayloadOf(m.file, m.gps),
      PayloadOf(m.file, m.gps0),
      PayloadOf(m.file, m.ilst_xyz_data),
  });
  EXPECT_EQ(*ranges, want);
  // Headers intact: every size/type is unchanged in the redacted copy.
  std::string red = Apply(m.file, *ranges);
  for (const std::string* b : {&m.loci, &m.xyz, &m.gps, &m.gps0}) {
    size_t at = m.file.find(*b);
    EXPECT_EQ(red.substr(at, 8), m.file.substr(at, 8));
    EXPECT_EQ(red.substr(at + 8, b->size() - 8),
              std::string(b->size() - 8, '\0'));
  }
}

TEST(IsoBmffTest, ProfileOff) {
  Mp4 m = MakeMp4();
  Profile p;
  p.video_location = false;
  auto ranges = Find(m.file, p);
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  EXPECT_TRUE(ranges->empty());
}

std::string MakeKeysMov(bool keys_after_ilst, std::string* loc_data,
                        std::string* name_data) {
  *loc_data = Data("+48.8584+002.2945+035.000/");
  *name_data = Data("Eiffel Tower");
  std::string keys =
      Keys({"com.apple.quicktime.make", "com.apple.quicktime.location.ISO6709",
            "com.apple.quicktime.model", "com.apple.quicktime.location.name"});
  std::string ilst = Box(
      "ilst", absl::StrCat(Item(1, Data("Apple")), Item(2, *loc_data),
                           Item(3, Data("iPhone")), Item(4, *name_data)));
  // QuickTime meta: no version/flags.
  std::string meta =
      Box("meta", keys_after_ilst
                      ? absl::StrCat(Hdlr("mdta"), ilst, keys)
                      : absl::StrCat(Hdlr("mdta"), keys, ilst));
  std::string moov =
      Box("moov", absl::StrCat(Box("mvhd", std::string(100, 'm')), meta));
  return absl::StrCat(Ftyp("qt  "), Box("wide", ""), Box("mdat", "frames"),
                      moov);
}

TEST(IsoBmffTest, QuickTimeKeys) {
  for (bool after : {false, true}) {
    std::string loc, name;
    std::string file = MakeKeysMov(after, &loc, &name);
    auto ranges = Find(file);
    ASSERT_TRUE(ranges.ok()) << ranges.status();
    EXPECT_EQ(*ranges,
              Normalize({PayloadOf(file, loc), PayloadOf(file, name)}))
        << "keys after ilst: " << after;
  }
}

TEST(IsoBmffTest, MalformedKeysRedactsEveryItem) {
  std::string a = Data("Apple"), b = Data("+48.8584+002.2945/");
  std::string keys = FullBox(
      "keys", 0, 0, absl::StrCat(BE32(2), BE32(200), "mdta", "com.apple"));
  std::string file = absl::StrCat(
      Ftyp("qt  "),
      Box("moov",
          Box("meta", absl::StrCat(Hdlr("mdta"), keys,
                                   Box("ilst", absl::StrCat(Item(1, a),
                                                            Item(2, b)))))));
  auto ranges = Find(file);
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  EXPECT_EQ(*ranges, Normalize({PayloadOf(file, a), PayloadOf(file, b)}));
}

TEST(IsoBmffTest, FreeformItemByName) {
  std::string data = Data("+48.8584+002.2945/");
  std::string other = Data("not a location");
  std::string item = Box(
      "----",
      absl::StrCat(FullBox("mean", 0, 0, "com.apple.iTunes"),
                   FullBox("name", 0, 0, "com.apple.quicktime.location.ISO6709"),
                   data));
  std::string item2 = Box(
      "----", absl::StrCat(FullBox("mean", 0, 0, "com.apple.iTunes"),
                           FullBox("name", 0, 0, "iTunSMPB"), other));
  std::string file = absl::StrCat(
      Ftyp("M4A "),
      Box("moov",
          Box("udta", FullBox("meta", 0, 0,
                              absl::StrCat(Hdlr("mdir"),
                                           Box("ilst", item + item2))))));
  auto ranges = Find(file);
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  EXPECT_EQ(*ranges, Normalize({PayloadOf(file, data)}));
}

TEST(IsoBmffTest, LargesizeAndSizeZero) {
  std::string loci = FullBox("loci", 0, 0, "LARGE-MOOV-LOCI");
  std::string xyz = Xyz("+01.0000+002.0000/");
  // moov with a 64-bit size, an mdat with a 64-bit size, and a last box
  // (udta-like container 'moov') with size 0 running to the end of file.
  std::string file = absl::StrCat(
      Ftyp("isom"), LargeBox("mdat", "0123456789"),
      LargeBox("moov", Box("udta", loci)),
      OpenBox("moov", absl::StrCat(Box("mvhd", "x"), OpenBox("udta", xyz))));
  auto ranges = Find(file);
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  EXPECT_EQ(*ranges, Normalize({PayloadOf(file, loci), PayloadOf(file, xyz)}));
  // A largesize location box: the payload after the 16-byte header.
  std::string big = LargeBox("gps ", "LARGE-GPS");
  std::string f2 = absl::StrCat(Ftyp("isom"), Box("moov", big));
  auto r2 = Find(f2);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(*r2, Normalize({PayloadOf(f2, big, 16)}));
}

TEST(IsoBmffTest, TruncatedTopLevelBoxIsClamped) {
  std::string xyz = Xyz("+48.8584+002.2945/");
  std::string moov = Box("moov", Box("udta", xyz) + Box("free", "xxxx"));
  std::string file = absl::StrCat(Ftyp("isom"), moov);
  file.resize(file.size() - 2);  // cut into the trailing 'free'
  auto ranges = Find(file);
  // moov now overruns the file; the clamped moov has a 'free' child that
  // overruns it: an error (fail closed), never silently nothing.
  EXPECT_FALSE(ranges.ok());
  // Truncating exactly after udta: clamped moov, udta found.
  std::string f2 = absl::StrCat(Ftyp("isom"), moov);
  f2.resize(f2.size() - 12);
  auto r2 = Find(f2);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(*r2, Normalize({PayloadOf(f2, xyz)}));
}

TEST(IsoBmffTest, MalformedIsAnError) {
  // A child overrunning its parent.
  std::string bad_child = absl::StrCat(BE32(100), "udta", "tiny");
  EXPECT_FALSE(Find(Ftyp("isom") + Box("moov", bad_child)).ok());
  // Sizes 2..7 and a largesize below 16.
  EXPECT_FALSE(
      Find(Ftyp("isom") + Box("moov", BE32(4) + "udta" + "xxxxxxxx")).ok());
  EXPECT_FALSE(Find(Ftyp("isom") + Box("moov", BE32(1) + "udta" + BE64(8) +
                                                   "xxxxxxxx"))
                   .ok());
  // Nesting beyond the depth cap.
  std::string deep = Box("loci", "x");
  for (int i = 0; i < 40; ++i) deep = Box(i % 2 ? "udta" : "trak", deep);
  EXPECT_FALSE(Find(Ftyp("isom") + Box("moov", deep)).ok());
  // Nesting within the cap is fine.
  std::string ok = Box("loci", "x");
  for (int i = 0; i < 10; ++i) ok = Box("udta", ok);
  EXPECT_TRUE(Find(Ftyp("isom") + Box("moov", ok)).ok());
  // Too many boxes.
  std::string many;
  for (int i = 0; i < 250000; ++i) many += Box("free", "");
  EXPECT_FALSE(Find(Ftyp("isom") + Box("moov", Box("udta", many))).ok());
}

// ---- XMP ------------------------------------------------------------------

const char kXmpUuid[] =
    "\xBE\x7A\xCF\xCB\x97\xA9\x42\xE8\x9C\x71\x99\x94\x91\xE3\xAF\xAC";

std::string XmpPacket() {
  return "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>"
         "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
         "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
         "<rdf:Description rdf:about='' "
         "xmlns:exif='http://ns.adobe.com/exif/1.0/'>"
         "<exif:GPSLatitude>48,51.504N</exif:GPSLatitude>"
         "<exif:GPSLongitude>2,17.67E</exif:GPSLongitude>"
         "</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>";
}

TEST(IsoBmffTest, XmpUuidAndXmpBox) {
  std::string packet = XmpPacket();
  std::string uuid = absl::StrCat(BE32(24 + packet.size()), "uuid",
                                  std::string(kXmpUuid, 16), packet);
  std::string other_uuid = absl::StrCat(BE32(24 + packet.size()), "uuid",
                                        std::string(16, 'z'), packet);
  std::string xmp_box = Box("XMP_", packet + " ");
  std::string file = absl::StrCat(
      Ftyp("isom"), uuid, other_uuid,
      Box("moov", Box("udta", xmp_box)));
  auto ranges = Find(file);
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  size_t u = file.find(uuid);
  size_t x = file.find(xmp_box);
  size_t ou = file.find(other_uuid);
  for (size_t base : {u + 24, x + 8}) {
    size_t lat = file.find("48,51.504N", base);
    size_t lon = file.find("2,17.67E", base);
    EXPECT_TRUE(Covered(*ranges, lat, 10));
    EXPECT_TRUE(Covered(*ranges, lon, 8));
  }
  for (const ByteRange& r : *ranges) {
    bool in_uuid = r.offset >= u + 24 && r.end() <= u + uuid.size();
    bool in_xmp = r.offset >= x + 8 && r.end() <= x + xmp_box.size();
    EXPECT_TRUE(in_uuid || in_xmp) << r.offset << "+" << r.length;
    EXPECT_FALSE(r.offset >= ou && r.offset < ou + other_uuid.size());
  }
  Profile p;
  p.xmp_location = false;
  auto none = Find(file, p);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// ---- HEIF -----------------------------------------------------------------

// A big-endian TIFF: IFD0 with a GPSInfo pointer; the GPS IFD (at 26, 42
// bytes) with GPSVersionID, GPSLatitudeRef inline and GPSLatitude at 68.
std::string Tiff() {
  std::string t = absl::StrCat("MM", BE16(42), BE32(8));
  absl::StrAppend(&t, BE16(1), BE16(0x8825), BE16(4), BE32(1), BE32(26),
                  BE32(0));
  absl::StrAppend(&t, BE16(3), BE16(0), BE16(1), BE32(4), std::string("\x02\x03\x00\x00", 4),
                  BE16(1), BE16(2), BE32(2), std::string("N\0\0\0", 4),
                  BE16(2), BE16(5), BE32(3), BE32(68), BE32(0));
  absl::StrAppend(&t, BE32(48), BE32(1), BE32(51), BE32(1), BE32(3024),
                  BE32(100));
  return t;
}
constexpr uint64_t kGpsIfd = 26, kGpsEnd = 92;

std::string Infe(uint16_t id, absl::string_view type,
                 absl::string_view extra = "") {
  return FullBox("infe", 2, 0,
                 absl::StrCat(BE16(id), BE16(0), type, "name",
                              std::string(1, '\0'), extra));
}

// A HEIF with an hvc1 item and an Exif item; `method` 0 puts the Exif in
// mdat (file offsets), 1 in idat. Returns the Exif item's payload offset.
std::string MakeHeif(int method, absl::string_view exif_tiff,
                     uint64_t* exif_at, uint64_t* exif_len,
                     std::string* xmp_out = nullptr) {
  std::string exif =
      absl::StrCat(BE32(6), std::string("Exif\0\0", 6), exif_tiff);
  std::string xmp = XmpPacket();
  std::string image = "IMAGE-DATA-IMAGE-DATA";
  std::string iinf = FullBox(
      "iinf", 0, 0,
      absl::StrCat(BE16(3), Infe(1, "hvc1"), Infe(2, "Exif"),
                   Infe(3, "mime",
                        absl::StrCat("application/rdf+xml",
                                     std::string(1, '\0')))));
  // The layout: ftyp, meta (fixed size), mdat(image, [exif], xmp).
  auto build = [&](uint64_t mdat_payload) {
    uint64_t img = mdat_payload;
    uint64_t ex = method == 0 ? img + image.size() : 0;
    uint64_t xm = img + image.size() + (method == 0 ? exif.size() : 0);
    std::string iloc = FullBox(
        "iloc", 1, 0,
        absl::StrCat(BE16(0x4400), BE16(3),
                     // item 1: method 0
                     BE16(1), BE16(0), BE16(0), BE16(1), BE32(img),
                     BE32(image.size()),
                     // item 2 (Exif)
                     BE16(2), BE16(method), BE16(0), BE16(1), BE32(ex),
                     BE32(exif.size()),
                     // item 3 (XMP)
                     BE16(3), BE16(0), BE16(0), BE16(1), BE32(xm),
                     BE32(xmp.size())));
    std::string meta = FullBox(
        "meta", 0, 0,
        absl::StrCat(Hdlr("pict"), FullBox("pitm", 0, 0, BE16(1)), iinf,
                     iloc, method == 1 ? Box("idat", exif) : ""));
    return meta;
  };
  std::string ftyp = Ftyp("heic");
  std::string meta = build(0);
  uint64_t mdat_payload = ftyp.size() + meta.size() + 8;
  meta = build(mdat_payload);
  std::string mdat = Box(
      "mdat", absl::StrCat(image, method == 0 ? exif : "", xmp));
  std::string file = absl::StrCat(ftyp, meta, mdat);
  if (method == 0) {
    *exif_at = mdat_payload + image.size();
  } else {
    *exif_at = file.find("idat") + 4;
  }
  *exif_len = exif.size();
  EXPECT_EQ(file.substr(*exif_at, exif.size()), exif);
  if (xmp_out != nullptr) *xmp_out = xmp;
  return file;
}

TEST(IsoBmffTest, HeifExifItem) {
  for (int method : {0, 1}) {
    uint64_t at = 0, len = 0;
    std::string xmp;
    std::string file = MakeHeif(method, Tiff(), &at, &len, &xmp);
    auto ranges = Find(file);
    ASSERT_TRUE(ranges.ok()) << ranges.status();
    uint64_t tiff = at + 10;
    EXPECT_TRUE(Covered(*ranges, tiff + kGpsIfd, kGpsEnd - kGpsIfd))
        << "method " << method;
    // IFD0 (with its GPSInfo pointer) and the TIFF header stay.
    EXPECT_FALSE(Covered(*ranges, tiff, 1));
    EXPECT_FALSE(Covered(*ranges, tiff + 8, 1));
    // The XMP item (mime, application/rdf+xml) is handled too.
    size_t lat = file.find("48,51.504N");
    EXPECT_TRUE(Covered(*ranges, lat, 10));
    size_t xmp_at = file.find(xmp);
    for (const ByteRange& r : *ranges) {
      bool in_exif = r.offset >= at && r.end() <= at + len;
      bool in_xmp = r.offset >= xmp_at && r.end() <= xmp_at + xmp.size();
      EXPECT_TRUE(in_exif || in_xmp) << r.offset << "+" << r.length;
    }
    Profile p;
    p.exif_gps = false;
    p.xmp_location = false;
    auto none = Find(file, p);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
  }
}

TEST(IsoBmffTest, HeifBadExifRedactsWholeItem) {
  for (int method : {0, 1}) {
    uint64_t at = 0, len = 0;
    std::string file =
        MakeHeif(method, "XX not a tiff at all, padding padding", &at, &len);
    auto ranges = Find(file);
    ASSERT_TRUE(ranges.ok()) << ranges.status();
    EXPECT_TRUE(Covered(*ranges, at, len));
  }
}

TEST(IsoBmffTest, HeifIlocOutsideFileIsAnError) {
  uint64_t at = 0, len = 0;
  std::string file = MakeHeif(0, Tiff(), &at, &len);
  // Point the Exif extent past the end of the file.
  std::string needle = absl::StrCat(BE16(2), BE16(0), BE16(0), BE16(1),
                                    BE32(at));
  size_t p = file.find(needle);
  ASSERT_NE(p, std::string::npos);
  file.replace(p + 8, 4, BE32(file.size() + 100));
  EXPECT_FALSE(Find(file).ok());
}

// ---- Fuzz-style -----------------------------------------------------------

std::vector<std::string> Corpus() {
  std::string a, b;
  uint64_t at, len;
  return {MakeMp4().file, MakeKeysMov(false, &a, &b),
          MakeHeif(0, Tiff(), &at, &len), MakeHeif(1, Tiff(), &at, &len)};
}

void CheckSafe(const std::string& data) {
  StringSource source(data);
  std::vector<ByteRange> out;
  absl::Status s = FindIsoBmffLocationRanges(source, Profile{}, &out);
  if (!s.ok()) return;
  for (const ByteRange& r : out) {
    ASSERT_LE(r.offset, data.size());
    ASSERT_LE(r.length, data.size() - r.offset);
  }
}

TEST(IsoBmffTest, EveryTruncation) {
  for (const std::string& file : Corpus()) {
    for (size_t n = 0; n <= file.size(); ++n) {
      CheckSafe(file.substr(0, n));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(IsoBmffTest, RandomCorruptions) {
  std::mt19937_64 rng(12345);
  int runs = 0, errors = 0;
  for (const std::string& file : Corpus()) {
    for (int i = 0; i < 2500; ++i) {
      std::string d = file;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        size_t pos = rng() % d.size();
        switch (rng() % 4) {
          case 0: d[pos] = static_cast<char>(rng()); break;
          case 1: d[pos] = 0; break;
          case 2: d[pos] = static_cast<char>(0xFF); break;
          case 3: d[pos] ^= static_cast<char>(1u << (rng() % 8)); break;
        }
      }
      if (rng() % 8 == 0) d.resize(rng() % d.size());
      StringSource source(d);
      std::vector<ByteRange> out;
      absl::Status s = FindIsoBmffLocationRanges(source, Profile{}, &out);
      ++runs;
      if (!s.ok()) {
        ++errors;
        continue;
      }
      for (const ByteRange& r : out) {
        ASSERT_LE(r.offset, d.size());
        ASSERT_LE(r.length, d.size() - r.offset);
      }
    }
  }
  std::fprintf(stderr, "random corruptions: %d runs, %d errors\n", runs,
               errors);
}

// ---- Large file -----------------------------------------------------------

std::string TmpDir() { return testing::TestTmpDir(); }

TEST(IsoBmffTest, OneGibSparseMdatIsSkipped) {
  const uint64_t kMdat = uint64_t{1} << 30;
  std::string path = TmpDir() + "/big.mp4";
  std::string xyz = Xyz("+48.8584+002.2945/");
  std::string head =
      absl::StrCat(Ftyp("isom"), BE32(1), "mdat", BE64(16 + kMdat));
  std::string moov = Box(
      "moov", absl::StrCat(Box("mvhd", std::string(100, 'm')),
                           Box("udta", xyz)));
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, head.data(), head.size(), 0),
            static_cast<ssize_t>(head.size()));
  uint64_t moov_at = head.size() + kMdat;
  ASSERT_EQ(pwrite(fd, moov.data(), moov.size(), moov_at),
            static_cast<ssize_t>(moov.size()));
  uint64_t size = moov_at + moov.size();
  FdSource fds(fd, size);
  CountingSource source(fds);
  std::vector<ByteRange> out;
  auto start = std::chrono::steady_clock::now();
  absl::Status s = FindIsoBmffLocationRanges(source, Profile{}, &out);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  close(fd);
  unlink(path.c_str());
  ASSERT_TRUE(s.ok()) << s;
  uint64_t xyz_at = moov_at + moov.find(xyz);
  EXPECT_EQ(Normalize(out),
            std::vector<ByteRange>({{xyz_at + 8, xyz.size() - 8}}));
  EXPECT_LT(source.bytes(), 4096u);
  std::fprintf(stderr,
               "1 GiB sparse MP4: %lld us, %llu reads, %llu bytes read\n",
               static_cast<long long>(us),
               static_cast<unsigned long long>(source.reads()),
               static_cast<unsigned long long>(source.bytes()));
}

// ---- Real files (ffmpeg, exiftool, ffprobe) ------------------------------

using ::scopedfs::testing::HaveTool;

// Runs a shell command; returns its stdout, sets *rc.
std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  *rc = testing::Shell(cmd, &out);
  return out;
}

// exiftool's lines that carry the planted coordinates (48.8584 N, 2.2945 E,
// in any of exiftool's renderings). A zeroed box may still be listed (e.g.
// "Lat=0.00000 Lon=0.00000"): the tag is there, the location is not.
std::vector<std::string> CoordinateLines(const std::string& path,
                                         std::vector<std::string>* all) {
  int rc = 0;
  std::string out = Shell(
      absl::StrCat("exiftool -a -G1 -s -ee '", path, "' 2>&1"), &rc);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "[System]")) continue;  // file names
    std::string lower = absl::AsciiStrToLower(line);
    if (absl::StrContains(lower, "gps") ||
        absl::StrContains(lower, "location")) {
      all->emplace_back(line);
    }
    for (const char* c : {"48 deg", "48.85", "48,51", "+48.8", "2 deg 17",
                          "2.294", "2,17", "+002.29", "51' 30", "17' 40"}) {
      if (absl::StrContains(lower, c)) {
        lines.emplace_back(line);
        break;
      }
    }
  }
  return lines;
}

class RealFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"ffmpeg", "ffprobe", "exiftool"}) {
      if (!HaveTool(tool)) {
        std::fprintf(stderr, "*** SKIPPED real-file test: %s not found ***\n",
                     tool);
        GTEST_SKIP() << tool << " not found";
      }
    }
    dir_ = TmpDir();
  }

  // Makes `name` with ffmpeg (`ext` container, `ffmpeg_args`), then runs
  // `exiftool_args` on it if non-empty.
  std::string Make(const std::string& name, const std::string& ffmpeg_args,
                   const std::string& exiftool_args) {
    std::string path = dir_ + "/" + name;
    int rc = 0;
    Shell(absl::StrCat("ffmpeg -nostdin -loglevel error -y ", ffmpeg_args, " '",
                     path, "' 2>&1"),
        &rc);
    EXPECT_EQ(rc, 0) << "ffmpeg failed for " << name;
    if (!exiftool_args.empty()) {
      std::string o = Shell(absl::StrCat("exiftool -q -overwrite_original ",
                                       exiftool_args, " '", path, "' 2>&1"),
                          &rc);
      EXPECT_EQ(rc, 0) << "exiftool failed for " << name << ": " << o;
    }
    return path;
  }

  // Redacts `path` into a copy and checks it.
  void Check(const std::string& path, bool image = false) {
    std::vector<std::string> all_before, all_after;
    std::vector<std::string> before = CoordinateLines(path, &all_before);
    ASSERT_FALSE(before.empty()) << path << ": no location to begin with";
    std::string data = ReadFile(path);
    int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    FdSource fds(fd, data.size());
    CountingSource source(fds);
    std::vector<ByteRange> out;
    auto start = std::chrono::steady_clock::now();
    absl::Status s = FindIsoBmffLocationRanges(source, Profile{}, &out);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    close(fd);
    std::fprintf(stderr, "%s: %zu bytes, parsed in %lld us, %llu reads, "
                 "%llu bytes read\n",
                 path.substr(path.rfind('/') + 1).c_str(), data.size(),
                 static_cast<long long>(us),
                 static_cast<unsigned long long>(source.reads()),
                 static_cast<unsigned long long>(source.bytes()));
    ASSERT_TRUE(s.ok()) << path << ": " << s;
    std::vector<ByteRange> ranges = Normalize(out);
    ASSERT_FALSE(ranges.empty());
    std::string red = Apply(data, ranges);
    // Every byte outside the ranges is unchanged.
    ASSERT_EQ(red.size(), data.size());
    size_t next = 0;
    for (const ByteRange& r : ranges) {
      ASSERT_LE(r.end(), data.size());
      EXPECT_EQ(red.substr(next, r.offset - next),
                data.substr(next, r.offset - next));
      next = r.end();
    }
    EXPECT_EQ(red.substr(next), data.substr(next));
    std::string red_path = path + ".redacted" + path.substr(path.rfind('.'));
    WriteFile(red_path, red);
    std::vector<std::string> after = CoordinateLines(red_path, &all_after);
    EXPECT_TRUE(after.empty()) << path << " still has location:\n"
                               << absl::StrJoin(after, "\n");
    int rc = 0;
    std::string probe = Shell(
        absl::StrCat("ffprobe -v error ", image ? "" : "-show_streams ", "'",
                     red_path, "' 2>&1 >/dev/null"),
        &rc);
    EXPECT_EQ(rc, 0) << probe;
    EXPECT_TRUE(probe.empty()) << "ffprobe: " << probe;
    std::string summary;
    for (const ByteRange& r : ranges) {
      absl::StrAppend(&summary, " ", r.offset, "+", r.length);
    }
    std::fprintf(stderr,
                 "%s: ranges%s\n  before:\n    %s\n  after (redacted):\n    %s\n",
                 path.substr(path.rfind('/') + 1).c_str(), summary.c_str(),
                 absl::StrJoin(all_before, "\n    ").c_str(),
                 absl::StrJoin(all_after, "\n    ").c_str());
  }

  std::string dir_;
};

const char kSrc[] = "-f lavfi -i testsrc=duration=1:size=64x48:rate=10";

TEST_F(RealFileTest, FfmpegMp4Loci) {
  Check(Make("loc.mp4",
             absl::StrCat(kSrc, " -metadata location=+48.8584+002.2945/"),
             ""));
}

TEST_F(RealFileTest, FfmpegMovXyz) {
  Check(Make("loc.mov",
             absl::StrCat(kSrc, " -metadata location=+48.8584+002.2945/"),
             ""));
}

TEST_F(RealFileTest, ExiftoolQuickTimeKeys) {
  Check(Make("keys.mov", kSrc, "'-Keys:GPSCoordinates=48.8584, 2.2945, 35'"));
}

TEST_F(RealFileTest, ExiftoolUserData) {
  Check(Make("ud.mov", kSrc,
             "'-UserData:GPSCoordinates=48.8584, 2.2945, 35'"));
}

TEST_F(RealFileTest, ExiftoolKeysAndUserDataMp4) {
  Check(Make("both.mp4",
             absl::StrCat(kSrc, " -metadata location=+48.8584+002.2945/"),
             "'-Keys:GPSCoordinates=48.8584, 2.2945, 35' "
             "'-UserData:GPSCoordinates=48.8584, 2.2945, 35'"));
}

TEST_F(RealFileTest, ExiftoolXmpInMp4) {
  Check(Make("xmp.mp4", kSrc,
             "'-XMP:GPSLatitude=48.8584 N' '-XMP:GPSLongitude=2.2945 E'"));
}

// 60 s of video: the sample tables (stbl) and mdat are never read.
TEST_F(RealFileTest, Ffmpeg60SecondsMp4) {
  std::string path = Make(
      "long.mp4",
      "-f lavfi -i testsrc=duration=60:size=320x240:rate=30 -c:v libx264 "
      "-preset ultrafast -metadata location=+48.8584+002.2945/",
      "");
  Check(path);
}

TEST_F(RealFileTest, ExiftoolExifInAvif) {
  int rc = 0;
  std::string enc = Shell("ffmpeg -hide_banner -encoders 2>/dev/null", &rc);
  if (!absl::StrContains(enc, "libaom-av1")) {
    std::fprintf(stderr, "*** SKIPPED AVIF test: no libaom-av1 ***\n");
    GTEST_SKIP() << "no libaom-av1";
  }
  Check(Make("gps.avif",
             "-f lavfi -i testsrc=size=64x48 -frames:v 1 -c:v libaom-av1 "
             "-still-picture 1",
             "-GPSLatitude=48.8584 -GPSLatitudeRef=N -GPSLongitude=2.2945 "
             "-GPSLongitudeRef=E '-XMP:GPSAltitude=35'"),
        /*image=*/true);
}

}  // namespace
}  // namespace scopedfs::redact
