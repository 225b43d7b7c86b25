// Still images (JPEG, PNG, TIFF) through PlanRedaction in both modes.
// ImageMagick makes the pictures, exiftool writes location, IPTC, comments,
// camera and capture-time metadata and is the independent oracle on the
// redacted copies; the quirks readers accept (odd markers, odd spellings,
// odd places) are made by editing the bytes here.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"
#include "tests/file_util.h"
#include "tests/redact_test_util.h"
#include "tests/shell.h"

namespace scopedfs::redact {
namespace {

using ::scopedfs::testing::ReadFile;
using ::scopedfs::testing::WriteFile;
using Mode = Profile::Mode;

using ::scopedfs::testing::ExpectSaneRanges;
using ::scopedfs::testing::Shell;

std::string Dir() { return ::scopedfs::testing::TestTmpDir(); }

std::string Path(const std::string& name) { return Dir() + "/" + name; }

// Location values we write; none may survive either mode.
const char* const kLocationSecrets[] = {
    "Paris", "EiffelTower", "Lyon", "RueSecrete", "Rhone", "48.858", "2.294"};
// Other metadata values; none may survive the allowlist.
const char* const kOtherSecrets[] = {"SecretComment", "SN123456", "Usercomment",
                                     "SecretCam",     "SN999",    "Someone"};

// Location and camera metadata exiftool writes everywhere.
const char kLocationTags[] =
    "-GPSLatitude=48.8584 -GPSLatitudeRef=N -GPSLongitude=2.2945 "
    "-GPSLongitudeRef=E -XMP:GPSLatitude=48.8584 -XMP:GPSLongitude=2.2945 "
    "-XMP-photoshop:City=Paris -XMP-iptcCore:Location=EiffelTower "
    "-Orientation#=6 -DateTimeOriginal=2020:01:02_03:04:05 "
    "-SubSecTimeOriginal=12 -OffsetTimeOriginal=+01:00 ";
const char kOtherTags[] =
    "-IPTC:City=Lyon -IPTC:Sub-location=RueSecrete -IPTC:Province-State=Rhone "
    "-IPTC:Country-PrimaryLocationName=France -Comment=SecretComment "
    "-Make=Canon -Model=EOS -SerialNumber=SN123456 -UserComment=Usercomment "
    "-Artist=Someone -ModifyDate=2021:01:01_00:00:00 ";

bool IsLocationTag(absl::string_view name) {
  for (const char* s :
       {"GPS", "City", "Country", "Location", "State", "Sublocation"}) {
    if (absl::StrContains(name, s)) return true;
  }
  return false;
}

// exiftool's view of a file: "[Group] Name" -> value (the first one).
struct Oracle {
  std::string text;
  std::map<std::string, std::string> tags;
  std::vector<std::string> location;

  std::string Get(const std::string& group_name) const {
    auto it = tags.find(group_name);
    return it == tags.end() ? "" : it->second;
  }
  bool HasName(absl::string_view name) const {
    for (const auto& [k, v] : tags) {
      if (absl::EndsWith(k, absl::StrCat("] ", name))) return true;
    }
    return false;
  }
};

Oracle Exiftool(const std::string& path) {
  Oracle o;
  Shell("exiftool -a -G1 -s -n -m -ee '" + path + "' 2>/dev/null", &o.text);
  for (absl::string_view line : absl::StrSplit(o.text, '\n')) {
    size_t close = line.find(']');
    size_t colon = line.find(" : ");
    if (close == absl::string_view::npos || colon == absl::string_view::npos) {
      continue;
    }
    std::string group(line.substr(0, close + 1));
    group.erase(std::remove(group.begin(), group.end(), ' '), group.end());
    std::string name(
        absl::StripAsciiWhitespace(line.substr(close + 1, colon - close - 1)));
    std::string key = absl::StrCat(group, " ", name);
    o.tags.emplace(key, std::string(line.substr(colon + 3)));
    if (IsLocationTag(name)) o.location.emplace_back(line);
  }
  return o;
}

std::string Apply(const std::string& data, const std::vector<ByteRange>& r) {
  // In odd-sized pieces, the way reads reach the daemon.
  return testing::ApplyInPieces(data, r, 777);
}

absl::StatusOr<Redaction> Plan(const std::string& data, Mode mode,
                               bool keep_capture_time = false) {
  StringSource source(data);
  Profile profile;
  profile.mode = mode;
  profile.keep_capture_time = keep_capture_time;
  return PlanRedaction(source, profile);
}

// Redacts `name` into "<mode>-<name>" and returns the copy's path.
std::string Redact(const std::string& name, Mode mode,
                   bool keep_capture_time = false) {
  const std::string data = ReadFile(Path(name));
  absl::StatusOr<Redaction> r = Plan(data, mode, keep_capture_time);
  EXPECT_TRUE(r.ok()) << name << ": " << r.status();
  if (!r.ok()) return "";
  ExpectSaneRanges(r->ranges, data.size(), name);
  const std::string out =
      Path(absl::StrCat(mode == Mode::kAllowlist ? "allow" : "loc",
                        keep_capture_time ? "-t-" : "-", name));
  WriteFile(out, Apply(data, r->ranges));
  return out;
}

// The decoded pixels (empty when ImageMagick cannot decode the file).
std::string Pixels(const std::string& path) {
  std::string out;
  if (Shell("convert '" + path + "' -depth 8 rgb:- 2>/dev/null | md5sum",
            &out) != 0 ||
      Shell("identify '" + path + "' >/dev/null 2>&1") != 0) {
    return "";
  }
  return out;
}

uint16_t Be16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) << 8 |
                               static_cast<unsigned char>(s[at + 1]));
}

uint32_t Be32(const std::string& s, size_t at) {
  return uint32_t{Be16(s, at)} << 16 | Be16(s, at + 2);
}

std::string PutBe32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
          static_cast<char>(v >> 8), static_cast<char>(v)};
}

// ---- JPEG byte editing ----

std::string Segment(unsigned char marker, const std::string& payload) {
  size_t n = payload.size() + 2;
  return std::string{'\xff', static_cast<char>(marker),
                     static_cast<char>(n >> 8), static_cast<char>(n)} +
         payload;
}

// The first segment before SOS with `marker` whose payload starts with
// `prefix`: the offset of its 0xFF, npos if none.
size_t FindSegment(const std::string& jpeg, unsigned char marker,
                   absl::string_view prefix) {
  size_t pos = 2;
  while (pos + 4 <= jpeg.size() && jpeg[pos] == '\xff') {
    const unsigned char m = jpeg[pos + 1];
    if (m == 0xda || m == 0xd9) break;
    if (m == marker && absl::string_view(jpeg).substr(pos + 4).substr(
                           0, prefix.size()) == prefix) {
      return pos;
    }
    pos += 2 + Be16(jpeg, pos + 2);
  }
  return std::string::npos;
}

std::string SegmentPayload(const std::string& jpeg, size_t at) {
  return jpeg.substr(at + 4, Be16(jpeg, at + 2) - 2);
}

std::string ReplaceSegment(const std::string& jpeg, size_t at,
                           const std::string& segment) {
  return jpeg.substr(0, at) + segment +
         jpeg.substr(at + 2 + Be16(jpeg, at + 2));
}

// ---- PNG byte editing ----

uint32_t Crc32(absl::string_view data) {
  uint32_t c = 0xffffffff;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320 & (0 - (c & 1)));
  }
  return ~c;
}

std::string Chunk(const std::string& type, const std::string& data) {
  return PutBe32(data.size()) + type + data + PutBe32(Crc32(type + data));
}

// The offset of the first chunk of `type`, npos if none.
size_t FindChunk(const std::string& png, absl::string_view type) {
  for (size_t pos = 8; pos + 8 <= png.size(); pos += 12 + Be32(png, pos)) {
    if (png.compare(pos + 4, 4, type.data(), 4) == 0) return pos;
  }
  return std::string::npos;
}

std::string ChunkData(const std::string& png, size_t at) {
  return png.substr(at + 8, Be32(png, at));
}

std::string ReplaceChunk(const std::string& png, size_t at,
                         const std::string& chunk) {
  return png.substr(0, at) + chunk + png.substr(at + 12 + Be32(png, at));
}

// ---- A hand-made EXIF: GPSInfo inside the Exif IFD ----

std::string Le16(uint16_t v) {
  return {static_cast<char>(v), static_cast<char>(v >> 8)};
}
std::string Le32(uint32_t v) { return Le16(v) + Le16(v >> 16); }
std::string Entry(uint16_t tag, uint16_t type, uint32_t count,
                  const std::string& value) {
  std::string v = value;
  v.resize(4, '\0');
  return Le16(tag) + Le16(type) + Le32(count) + v;
}

// IFD0 {Orientation 6, ExifIFD} at 8, Exif IFD {DateTimeOriginal, GPSInfo}
// at 38, GPS IFD {GPSLatitudeRef N, GPSLatitude} at 68, values from 98.
std::string GpsInExifIfd() {
  std::string t = std::string("II*\0", 4) + Le32(8);
  t += Le16(2) + Entry(0x0112, 3, 1, Le16(6)) + Entry(0x8769, 4, 1, Le32(38)) +
       Le32(0);
  t += Le16(2) + Entry(0x9003, 2, 20, Le32(98)) +
       Entry(0x8825, 4, 1, Le32(68)) + Le32(0);
  t += Le16(2) + Entry(1, 2, 2, "N") + Entry(2, 5, 3, Le32(118)) + Le32(0);
  t += std::string("2020:01:02 03:04:05\0", 20);
  for (uint32_t v : {48u, 51u, 30u}) t += Le32(v) + Le32(1);
  return std::string("Exif\0\0", 6) + t;
}

// ---- TIFF byte editing ----

uint32_t Rd(const std::string& s, size_t at, int n, bool le) {
  uint32_t v = 0;
  for (int k = 0; k < n; ++k) {
    const uint32_t b = static_cast<unsigned char>(s[at + k]);
    v |= b << (8 * (le ? k : n - 1 - k));
  }
  return v;
}

std::string Enc(uint32_t v, int n, bool le) {
  std::string out(n, '\0');
  for (int k = 0; k < n; ++k) {
    out[le ? k : n - 1 - k] = static_cast<char>(v >> (8 * k));
  }
  return out;
}

uint64_t TypeBytes(uint32_t type) {
  static const uint64_t kSizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};
  return type < 14 ? kSizes[type] : 0;
}

// What `identify -regard-warnings` says about a file, but the warnings a
// zeroed value must cause: libtiff warns of every ASCII tag whose value is
// all NULs and of IFD pointers with count 0 (ignored), ImageMagick of a
// zeroed XMP packet, and of the private tags RelocateIfd0 adds. Errors and
// every other warning stay; "" when it decodes cleanly.
std::string IdentifyComplaints(const std::string& path) {
  std::string out;
  Shell("identify -regard-warnings '" + path + "' 2>&1 >/dev/null", &out);
  std::string complaints;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (absl::StrContains(line, "@ warning/") &&
        (absl::StrContains(line, "contains null byte in value") ||
         absl::StrContains(line, "Incorrect count for") ||
         absl::StrContains(line, "CorruptImageProfile") ||
         absl::StrContains(line, "Unknown field with tag 6500"))) {
      continue;
    }
    absl::StrAppend(&complaints, line, "\n");
  }
  if (const int status = Shell("identify '" + path + "' >/dev/null 2>&1");
      status != 0) {
    absl::StrAppend(&complaints, "identify exit status ", status, "\n");
  }
  return complaints;
}

// Copies IFD0 and its out-of-line values to the end of the file, adds two
// private tags (65000: a MakerNote-like blob; 65001: a private IFD with a
// string) and points the header at the copy. The old IFD0 and its values
// stay where they were, referenced by nothing: what writers leave behind
// when they rewrite a directory.
std::string RelocateIfd0(std::string d) {
  const bool le = d[0] == 'I';
  const uint32_t ifd0 = Rd(d, 4, 4, le);
  const uint32_t n = Rd(d, ifd0, 2, le);
  const uint32_t next = Rd(d, ifd0 + 2 + 12 * n, 4, le);
  auto align = [&d] {
    if (d.size() % 2 != 0) d.push_back('\0');
  };
  std::string entries;
  for (uint32_t i = 0; i < n; ++i) {
    std::string e = d.substr(ifd0 + 2 + 12 * i, 12);
    const uint64_t size = TypeBytes(Rd(e, 2, 2, le)) * Rd(e, 4, 4, le);
    if (size > 4) {
      align();
      const uint32_t at = d.size();
      d += d.substr(Rd(e, 8, 4, le), size);
      e.replace(8, 4, Enc(at, 4, le));
    }
    entries += e;
  }
  align();
  const uint32_t note = d.size();
  d += std::string("SecretMakerNote\0", 16);
  const uint32_t priv = d.size();
  d += Enc(1, 2, le) + Enc(1, 2, le) + Enc(2, 2, le) + Enc(14, 4, le) +
       Enc(priv + 18, 4, le) + Enc(0, 4, le) +
       std::string("SecretPrivate\0", 14);
  entries += Enc(65000, 2, le) + Enc(7, 2, le) + Enc(16, 4, le) +
             Enc(note, 4, le);
  entries += Enc(65001, 2, le) + Enc(13, 2, le) + Enc(1, 4, le) +
             Enc(priv, 4, le);
  align();
  const uint32_t at = d.size();
  d += Enc(n + 2, 2, le) + entries + Enc(next, 4, le);
  d.replace(4, 4, Enc(at, 4, le));
  return d;
}

class RedactStillTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tools_ = Shell("command -v exiftool convert identify >/dev/null 2>&1") == 0;
    if (!tools_) return;
    const std::string all = std::string("exiftool -q -m -overwrite_original ") +
                            kLocationTags + kOtherTags;
    const std::string loc =
        std::string("exiftool -q -m -overwrite_original ") + kLocationTags;
    const std::string cmds[] = {
        "convert -size 16x12 xc:green thumb.jpg",
        "convert -size 64x48 gradient:red-blue full.jpg && " + all +
            "'-ThumbnailImage<=thumb.jpg' full.jpg",
        "convert -size 96x64 gradient:red-blue -interlace JPEG prog.jpg && " +
            all + "prog.jpg",
        "convert -size 64x48 gradient:red-blue full.png && " + all + "full.png",
        "convert -size 64x48 gradient:red-blue full.tif && " + all + "full.tif",
        "convert -size 64x48 gradient:red-blue -define tiff:endian=msb msb.tif "
        "&& " +
            all + "msb.tif",
        "convert -size 64x48 gradient:red-blue dng.tif && " + all +
            "-DNGVersion=1.4.0.0 -UniqueCameraModel=SecretCam "
            "-CameraSerialNumber=SN999 -AsShotNeutral='0.5 1 0.6' dng.tif",
        // Location only (location-only mode does not cover IPTC-IIM).
        "convert -size 64x48 gradient:red-blue loc.jpg && " + loc + "loc.jpg",
        "convert -size 64x48 gradient:red-blue loc.png && " + loc + "loc.png",
        // ImageMagick's PNG: "Raw profile type exif/xmp" text chunks.
        "convert loc.jpg im.png",
    };
    for (const std::string& c : cmds) {
      ASSERT_EQ(Shell("cd '" + Dir() + "' && " + c + " >/dev/null 2>&1"), 0)
          << c;
    }
    // Not vacuous: ImageMagick 6 ignores -endian for TIFF.
    ASSERT_TRUE(absl::StartsWith(ReadFile(Path("msb.tif")), "MM"));
    MakeEditedFiles();
  }

  // Files made by editing bytes: trailers, a segment between scans, and
  // the quirks (the q-*.jpg and q-*.png files).
  static void MakeEditedFiles() {
    const std::string full = ReadFile(Path("full.jpg"));
    // After EOI: an MPF-like second image with the same metadata, text.
    WriteFile(Path("trailer.jpg"), full + full + "Paris trailer");
    const std::string png = ReadFile(Path("full.png"));
    WriteFile(Path("trailer.png"), png + "Paris trailer");

    // An XMP APP1 between the scans of a progressive JPEG.
    const std::string prog = ReadFile(Path("prog.jpg"));
    const size_t sos1 = prog.find("\xff\xda");
    const size_t sos2 = prog.find("\xff\xda", sos1 + 2);
    ASSERT_NE(sos2, std::string::npos) << "prog.jpg has one scan";
    WriteFile(
        Path("scans.jpg"),
        prog.substr(0, sos2) +
            Segment(0xe1, std::string("http://ns.adobe.com/xap/1.0/\0", 29) +
                              "<x:xmpmeta><rdf:Description "
                              "photoshop:City='Paris'/></x:xmpmeta>") +
            Segment(0xfe, "Paris comment") + prog.substr(sos2));

    const std::string jpeg = ReadFile(Path("loc.jpg"));
    const size_t exif = FindSegment(jpeg, 0xe1, "Exif");
    const size_t xmp = FindSegment(jpeg, 0xe1, "http://ns.adobe.com/xap");
    ASSERT_NE(exif, std::string::npos);
    ASSERT_NE(xmp, std::string::npos);
    const std::string exif_payload = SegmentPayload(jpeg, exif);
    // Markers without length and fill bytes before the EXIF APP1.
    WriteFile(
        Path("q-standalone.jpg"),
        jpeg.substr(0, exif) + "\xff\x01\xff\xd0\xff\xd7" + jpeg.substr(exif));
    WriteFile(Path("q-fill.jpg"),
              jpeg.substr(0, exif) + "\xff\xff\xff" + jpeg.substr(exif));
    WriteFile(Path("q-caps.jpg"),
              ReplaceSegment(jpeg, exif,
                             Segment(0xe1, "EXIF" + exif_payload.substr(4))));
    WriteFile(Path("q-junk.jpg"),
              ReplaceSegment(jpeg, exif, Segment(0xe1, "ab" + exif_payload)));
    // Photoshop's "XMP\0" header instead of Adobe's namespace.
    std::string xmp_payload = SegmentPayload(jpeg, xmp).substr(29);
    WriteFile(
        Path("q-xmphdr.jpg"),
        ReplaceSegment(jpeg, xmp,
                       Segment(0xe1, std::string("XMP\0", 4) + xmp_payload)));
    WriteFile(Path("q-gpsinexif.jpg"),
              ReplaceSegment(jpeg, exif, Segment(0xe1, GpsInExifIfd())));

    const std::string lpng = ReadFile(Path("loc.png"));
    const size_t exif_chunk = FindChunk(lpng, "eXIf");
    ASSERT_NE(exif_chunk, std::string::npos);
    WriteFile(Path("q-exIf.png"),
              ReplaceChunk(lpng, exif_chunk,
                           Chunk("exIf", ChunkData(lpng, exif_chunk))));
    WriteFile(Path("q-zxIf.png"),
              ReplaceChunk(lpng, exif_chunk,
                           Chunk("zxIf", ChunkData(lpng, exif_chunk))));
    const size_t itxt = FindChunk(lpng, "iTXt");
    ASSERT_NE(itxt, std::string::npos);
    std::string text = ChunkData(lpng, itxt);
    ASSERT_TRUE(absl::StartsWith(text, "XML:com.adobe.xmp"));
    text.replace(0, 17, "xml:COM.Adobe.XMP");
    WriteFile(Path("q-xmpcase.png"),
              ReplaceChunk(lpng, itxt, Chunk("iTXt", text)));
    const std::string im = ReadFile(Path("im.png"));
    std::string im_edited = im;
    for (const char* type : {"zTXt", "tEXt", "iTXt"}) {
      for (size_t at = FindChunk(im_edited, type); at != std::string::npos;) {
        std::string data = ChunkData(im_edited, at);
        if (absl::StartsWith(data, "Raw profile type exif")) {
          data.replace(0, 21, "RAW PROFILE TYPE EXIF");
        } else if (absl::StartsWith(data, "Raw profile type xmp")) {
          data.replace(0, 20, "raw Profile Type XMP");
        }
        im_edited = ReplaceChunk(im_edited, at, Chunk(type, data));
        const size_t next = at + 12 + data.size();
        const size_t rel = FindChunk(im_edited.substr(next - 8), type);
        at = rel == std::string::npos ? rel : next - 8 + rel;
      }
    }
    WriteFile(Path("q-rawcase.png"), im_edited);
  }

  void SetUp() override {
    if (!tools_) {
      std::fprintf(stderr,
                   "\n*** SKIPPED: exiftool, convert or identify missing; "
                   "the still-image oracle did NOT run ***\n\n");
      GTEST_SKIP() << "exiftool/ImageMagick missing";
    }
  }

  static bool tools_;
};
bool RedactStillTest::tools_ = false;

const char* const kAllowlistFiles[] = {"full.jpg",    "prog.jpg", "scans.jpg",
                                       "trailer.jpg", "full.png", "trailer.png",
                                       "full.tif",    "msb.tif",  "dng.tif"};

void ExpectNoSecrets(const std::string& path, bool all) {
  const std::string bytes = ReadFile(path);
  const Oracle o = Exiftool(path);
  EXPECT_TRUE(o.location.empty()) << path << "\n"
                                  << absl::StrJoin(o.location, "\n");
  std::vector<const char*> secrets(std::begin(kLocationSecrets),
                                   std::end(kLocationSecrets));
  if (all)
    secrets.insert(secrets.end(), std::begin(kOtherSecrets),
                   std::end(kOtherSecrets));
  for (const char* secret : secrets) {
    EXPECT_FALSE(absl::StrContains(o.text, secret)) << path << ": " << secret;
    if (all) {
      EXPECT_FALSE(absl::StrContains(bytes, secret)) << path << ": " << secret;
    }
  }
}

TEST_F(RedactStillTest, AllowlistKeepsPixelsAndOrientationOnly) {
  for (const char* name : kAllowlistFiles) {
    SCOPED_TRACE(name);
    const Oracle before = Exiftool(Path(name));
    EXPECT_GE(before.location.size(), 3u) << before.text;
    const std::string out = Redact(name, Mode::kAllowlist);
    ASSERT_FALSE(out.empty());
    ExpectNoSecrets(out, /*all=*/true);
    const Oracle after = Exiftool(out);
    EXPECT_EQ(after.Get("[IFD0] Orientation"), "6") << after.text;
    EXPECT_FALSE(after.HasName("DateTimeOriginal")) << after.text;
    EXPECT_FALSE(after.HasName("ThumbnailImage")) << after.text;
    // A whole TIFF keeps the tag (empty), JPEG and PNG drop it.
    EXPECT_EQ(after.Get("[IFD0] Make"), "") << after.text;
    if (!absl::EndsWith(name, ".tif")) {
      EXPECT_FALSE(after.HasName("Make")) << after.text;
    }
    const std::string pixels = Pixels(out);
    EXPECT_FALSE(pixels.empty()) << "does not decode";
    EXPECT_EQ(pixels, Pixels(Path(name)));
  }
}

TEST_F(RedactStillTest, KeepCaptureTimeKeepsDateTimeOriginal) {
  for (const char* name : {"full.jpg", "full.png"}) {
    SCOPED_TRACE(name);
    const std::string out = Redact(name, Mode::kAllowlist, true);
    ASSERT_FALSE(out.empty());
    ExpectNoSecrets(out, /*all=*/true);
    const Oracle after = Exiftool(out);
    EXPECT_EQ(after.Get("[ExifIFD] DateTimeOriginal"), "2020:01:02 03:04:05")
        << after.text;
    EXPECT_EQ(after.Get("[ExifIFD] SubSecTimeOriginal"), "12");
    EXPECT_EQ(after.Get("[ExifIFD] OffsetTimeOriginal"), "+01:00");
    EXPECT_EQ(after.Get("[IFD0] Orientation"), "6");
    EXPECT_FALSE(after.HasName("ColorSpace")) << after.text;
    EXPECT_EQ(Pixels(out), Pixels(Path(name)));
  }
}

// Whole TIFFs keep IFD0's DateTime (306) only: an Exif IFD with emptied
// entries makes libtiff fail.
TEST_F(RedactStillTest, KeepCaptureTimeKeepsTiffDateTime) {
  for (const char* name : {"full.tif", "msb.tif"}) {
    SCOPED_TRACE(name);
    const Oracle without = Exiftool(Redact(name, Mode::kAllowlist));
    EXPECT_EQ(without.Get("[IFD0] ModifyDate"), "");
    const std::string out = Redact(name, Mode::kAllowlist, true);
    ASSERT_FALSE(out.empty());
    ExpectNoSecrets(out, /*all=*/true);
    const Oracle after = Exiftool(out);
    EXPECT_EQ(after.Get("[IFD0] ModifyDate"), "2021:01:01 00:00:00")
        << after.text;
    EXPECT_EQ(after.Get("[IFD0] Orientation"), "6");
    EXPECT_EQ(Pixels(out), Pixels(Path(name)));
  }
}

// Whole TIFFs in allowlist mode: every entry keeps its tag, type and count
// (libtiff refuses tag-0 entries and unsorted tags), dropped values and the
// IFDs dropped pointers lead to read as zeros, and so does every byte no
// kept structure references: an IFD0 relocated to the end of the file
// leaves no old copy of its values behind.
TEST_F(RedactStillTest, WholeTiffAllowlistDecodesAndLeavesNoOldBytes) {
  const std::string write =
      std::string("exiftool -q -m -overwrite_original ") + kLocationTags +
      kOtherTags + "-ImageDescription=SecretDesc ";
  const char* const secrets[] = {"SecretDesc", "SecretMakerNote",
                                 "SecretPrivate", "France"};
  for (const char* endian : {"lsb", "msb"}) {
    const std::string plain = absl::StrCat("w-", endian, ".tif");
    const std::string moved = absl::StrCat("w-moved-", endian, ".tif");
    ASSERT_EQ(Shell(absl::StrCat("cd '", Dir(),
                                 "' && convert -size 64x48 gradient:red-blue "
                                 "-define tiff:endian=",
                                 endian, " ", plain, " && ", write, plain,
                                 " >/dev/null 2>&1")),
              0);
    const std::string data = ReadFile(Path(plain));
    ASSERT_EQ(data[0], std::string(endian) == "lsb" ? 'I' : 'M');
    WriteFile(Path(moved), RelocateIfd0(data));
    for (const std::string& name : {plain, moved}) {
      SCOPED_TRACE(name);
      ASSERT_EQ(IdentifyComplaints(Path(name)), "");
      const Oracle before = Exiftool(Path(name));
      EXPECT_GE(before.location.size(), 3u) << before.text;
      EXPECT_TRUE(absl::StrContains(before.text, "SecretDesc"));
      const std::string out = Redact(name, Mode::kAllowlist);
      ASSERT_FALSE(out.empty());
      ExpectNoSecrets(out, /*all=*/true);
      const std::string bytes = ReadFile(out);
      for (const char* secret : secrets) {
        EXPECT_FALSE(absl::StrContains(bytes, secret)) << secret;
      }
      EXPECT_EQ(IdentifyComplaints(out), "");
      const std::string pixels = Pixels(out);
      EXPECT_FALSE(pixels.empty()) << "does not decode";
      EXPECT_EQ(pixels, Pixels(Path(name)));
      const Oracle after = Exiftool(out);
      EXPECT_EQ(after.Get("[IFD0] Orientation"), "6") << after.text;
      EXPECT_FALSE(after.HasName("GPSVersionID")) << after.text;
      EXPECT_EQ(after.Get("[IFD0] Artist"), "") << after.text;
      EXPECT_EQ(after.Get("[IFD0] ImageDescription"), "") << after.text;
      EXPECT_FALSE(after.HasName("DateTimeOriginal")) << after.text;
    }
  }
}

TEST_F(RedactStillTest, ThumbnailAndTrailersGo) {
  EXPECT_TRUE(Exiftool(Path("full.jpg")).HasName("ThumbnailImage"));
  const size_t jpeg_size = ReadFile(Path("full.jpg")).size();
  const size_t png_size = ReadFile(Path("full.png")).size();
  for (auto [name, size] :
       {std::pair<const char*, size_t>{"trailer.jpg", jpeg_size},
        {"trailer.png", png_size}}) {
    SCOPED_TRACE(name);
    const std::string redacted = ReadFile(Redact(name, Mode::kAllowlist));
    ASSERT_GT(redacted.size(), size);
    EXPECT_EQ(redacted.substr(size), std::string(redacted.size() - size, 0));
  }
}

TEST_F(RedactStillTest, SegmentsBetweenScansGo) {
  const std::string data = ReadFile(Path("scans.jpg"));
  size_t scans = 0;
  for (size_t at = data.find("\xff\xda"); at != std::string::npos;
       at = data.find("\xff\xda", at + 2)) {
    ++scans;
  }
  EXPECT_GE(scans, 3u);
  const std::string redacted = ReadFile(Redact("scans.jpg", Mode::kAllowlist));
  EXPECT_FALSE(absl::StrContains(redacted, "Paris"));
  EXPECT_NE(redacted.find("\xff\xfe\x00\x0f"), std::string::npos);  // COM
}

const char* const kQuirks[] = {
    "q-standalone.jpg", "q-fill.jpg",      "q-caps.jpg", "q-junk.jpg",
    "q-xmphdr.jpg",     "q-gpsinexif.jpg", "q-exIf.png", "q-zxIf.png",
    "q-xmpcase.png",    "q-rawcase.png"};

TEST_F(RedactStillTest, QuirksLeakNothingInEitherMode) {
  for (const char* name : kQuirks) {
    SCOPED_TRACE(name);
    const Oracle before = Exiftool(Path(name));
    bool visible = !before.location.empty();
    for (const char* s : kLocationSecrets) {
      visible |= absl::StrContains(before.text, s);
    }
    // zxIf is not really compressed here: exiftool cannot read it, the
    // range check below stands in.
    if (!absl::StrContains(name, "zxIf")) {
      EXPECT_TRUE(visible) << "exiftool does not see the location\n"
                           << before.text;
    }
    for (Mode mode : {Mode::kAllowlist, Mode::kLocationOnly}) {
      SCOPED_TRACE(mode == Mode::kAllowlist ? "allowlist" : "location-only");
      const std::string out = Redact(name, mode);
      ASSERT_FALSE(out.empty());
      ExpectNoSecrets(out, /*all=*/false);
      EXPECT_EQ(Pixels(out), Pixels(Path(name)));
      if (absl::EndsWith(name, ".png")) {
        // The EXIF / text chunk of the quirk has no byte left that could
        // hold a location (all of it, or all of it but the allowlist).
        const std::string data = ReadFile(Path(name));
        const std::string redacted = ReadFile(out);
        for (const char* type : {"exIf", "zxIf"}) {
          const size_t at = FindChunk(data, type);
          if (at == std::string::npos) continue;
          if (std::string(type) == "zxIf" || mode == Mode::kAllowlist) {
            const std::string d = ChunkData(redacted, at);
            EXPECT_LT(d.size() - std::count(d.begin(), d.end(), '\0'), 40u);
          }
        }
      }
    }
  }
}

TEST_F(RedactStillTest, LocationOnlyKeepsOtherMetadata) {
  for (const char* name : {"q-gpsinexif.jpg", "q-caps.jpg", "q-exIf.png"}) {
    SCOPED_TRACE(name);
    const Oracle after = Exiftool(Redact(name, Mode::kLocationOnly));
    EXPECT_EQ(after.Get("[IFD0] Orientation"), "6") << after.text;
    EXPECT_TRUE(after.HasName("DateTimeOriginal")) << after.text;
  }
}

// Raw flavours of TIFF (ORF, RW2) differ in the magic only.
TEST_F(RedactStillTest, RawMagicsAreTiff) {
  const std::string tif = ReadFile(Path("full.tif"));
  absl::StatusOr<Redaction> base = Plan(tif, Mode::kAllowlist);
  ASSERT_TRUE(base.ok()) << base.status();
  ASSERT_TRUE(absl::StartsWith(tif, absl::string_view("II*\0", 4)));
  for (const char* magic : {"IIRO", "IIRS", "IIU\0"}) {
    std::string raw = tif;
    raw.replace(0, 4, magic, 4);
    absl::StatusOr<Redaction> r = Plan(raw, Mode::kAllowlist);
    ASSERT_TRUE(r.ok()) << magic << ": " << r.status();
    EXPECT_EQ(r->format, Format::kTiff);
    EXPECT_EQ(r->ranges, base->ranges) << magic;
    r = Plan(raw, Mode::kLocationOnly);
    EXPECT_TRUE(r.ok()) << magic << ": " << r.status();
  }
}

// Every prefix (a file being written, a cut download): an error or ranges
// inside it; a sample of the allowlist copies goes past exiftool.
TEST_F(RedactStillTest, EveryPrefixErrorsOrStaysInBounds) {
  const std::string dir = Path("prefixes");
  ASSERT_EQ(Shell("rm -rf '" + dir + "' && mkdir '" + dir + "'"), 0);
  int runs = 0, errors = 0, sampled = 0;
  std::vector<std::string> names(std::begin(kAllowlistFiles),
                                 std::end(kAllowlistFiles));
  names.insert(names.end(), std::begin(kQuirks), std::end(kQuirks));
  for (const std::string& name : names) {
    const std::string data = ReadFile(Path(name));
    for (size_t len = 0; len <= data.size(); ++len) {
      const std::string prefix = data.substr(0, len);
      for (Mode mode : {Mode::kAllowlist, Mode::kLocationOnly}) {
        absl::StatusOr<Redaction> r = Plan(prefix, mode, len % 2 == 0);
        ++runs;
        if (!r.ok()) {
          ++errors;
          continue;
        }
        ExpectSaneRanges(r->ranges, len, absl::StrCat(name, " prefix ", len));
        if (mode == Mode::kAllowlist && len % 211 == 0 &&
            !absl::StartsWith(name, "q-")) {
          WriteFile(absl::StrCat(dir, "/", len, "-", name),
                    Apply(prefix, r->ranges));
          ++sampled;
        }
      }
    }
  }
  // And random corruptions, allowlist mode (the default): still bounded.
  std::mt19937 rng(1);
  for (const std::string& name : names) {
    const std::string data = ReadFile(Path(name));
    for (int i = 0; i < 300; ++i) {
      std::string m = data;
      for (int k = 1 + rng() % 6; k > 0; --k) {
        static const char kValues[] = {'\0', '\xff', '\x01', '\x7f'};
        m[rng() % m.size()] =
            rng() % 2 ? static_cast<char>(rng()) : kValues[rng() % 4];
      }
      absl::StatusOr<Redaction> r = Plan(m, Mode::kAllowlist, i % 2 == 0);
      ++runs;
      if (!r.ok()) {
        ++errors;
        continue;
      }
      ExpectSaneRanges(r->ranges, m.size(), absl::StrCat(name, " mutation ", i));
    }
  }
  std::printf("%d runs, %d errors, %d prefixes for exiftool\n", runs, errors,
              sampled);
  std::string out;
  Shell("exiftool -a -G1 -s -n -m -ee '" + dir + "' 2>/dev/null", &out);
  EXPECT_TRUE(absl::StrContains(out, "========"));
  for (const char* secret : kLocationSecrets) {
    size_t at = out.find(secret);
    EXPECT_EQ(at, std::string::npos)
        << secret << " in: " << out.substr(out.rfind("========", at), 300);
  }
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    size_t close = line.find(']');
    size_t colon = line.find(" : ");
    if (close == absl::string_view::npos || colon == absl::string_view::npos ||
        colon < close) {
      continue;
    }
    EXPECT_FALSE(IsLocationTag(line.substr(close + 1, colon - close - 1)))
        << line;
  }
}

// Exactly what the allowlists keep of a hand-made EXIF (no tools needed):
// TIFF header at 0, IFD0 {Orientation, ExifIFD} at 8, Exif IFD
// {DateTimeOriginal, GPSInfo} at 38, GPS IFD at 68, DateTimeOriginal's
// value at 98, GPSLatitude's at 118, end at 142.
TEST(ExifAllowlistLayoutTest, JpegKeepsExactlyTheAllowlist) {
  const std::string jpeg =
      "\xff\xd8" + Segment(0xe1, GpsInExifIfd()) + "\xff\xd9";
  const uint64_t t = 2 + 4 + 6;  // SOI, marker and length, "Exif\0\0"
  absl::StatusOr<Redaction> r = Plan(jpeg, Mode::kAllowlist);
  ASSERT_TRUE(r.ok()) << r.status();
  // ExifIFD entry: only its type stays; then everything to the end.
  EXPECT_EQ(r->ranges,
            (std::vector<ByteRange>{{t + 22, 2}, {t + 26, 142 - 26}}));
  r = Plan(jpeg, Mode::kAllowlist, /*keep_capture_time=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  // IFD0's next pointer; GPSInfo entry but its type, the Exif IFD's next
  // pointer and the GPS IFD; GPSLatitude's value.
  EXPECT_EQ(r->ranges,
            (std::vector<ByteRange>{
                {t + 34, 4}, {t + 52, 2}, {t + 56, 42}, {t + 118, 24}}));
  // Location-only: the GPS IFD reached through the Exif IFD, and its value.
  r = Plan(jpeg, Mode::kLocationOnly);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ranges, (std::vector<ByteRange>{{t + 68, 30}, {t + 118, 24}}));
}

TEST(ExifAllowlistLayoutTest, TiffZeroesPointedToIfdsWhole) {
  const std::string tiff = GpsInExifIfd().substr(6);
  absl::StatusOr<Redaction> r = Plan(tiff, Mode::kAllowlist);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->format, Format::kTiff);
  // Orientation stays; the ExifIFD entry keeps its tag and type (count 0:
  // readers ignore it); the Exif IFD, the GPS IFD and their values go.
  EXPECT_EQ(r->ranges,
            (std::vector<ByteRange>{{26, 8}, {38, 142 - 38}}));
}

// IFD0 {ImageWidth, SubIFDs} at 8, SubIFD {Artist, GPSInfo} at 38, GPS
// IFD at 68, Artist's value at 98, GPSLatitude's at 106, end at 130.
TEST(ExifAllowlistLayoutTest, TiffSubIfdsKeepDecodeTagsOnly) {
  std::string t = std::string("II*\0", 4) + Le32(8);
  t += Le16(2) + Entry(256, 3, 1, Le16(64)) + Entry(330, 4, 1, Le32(38)) +
       Le32(0);
  t += Le16(2) + Entry(315, 2, 8, Le32(98)) + Entry(0x8825, 4, 1, Le32(68)) +
       Le32(0);
  t += Le16(2) + Entry(1, 2, 2, "N") + Entry(2, 5, 3, Le32(106)) + Le32(0);
  t += std::string("Someone\0", 8);
  for (uint32_t v : {48u, 51u, 30u}) t += Le32(v) + Le32(1);
  ASSERT_EQ(t.size(), 130u);
  absl::StatusOr<Redaction> r = Plan(t, Mode::kAllowlist);
  ASSERT_TRUE(r.ok()) << r.status();
  // Artist keeps tag, type, count and offset (to its zeroed value);
  // GPSInfo its tag and type; the GPS IFD, Artist's value and
  // GPSLatitude's go. The SubIFD's count and next pointer stay.
  EXPECT_EQ(r->ranges, (std::vector<ByteRange>{{56, 8}, {68, 62}}));
  // An inline dropped value is zeroed in place; bytes nothing references
  // (an old copy of an IFD, a trailer) go too.
  std::string inline_value = t;
  inline_value.replace(40, 12, Entry(315, 2, 4, "Abc"));
  inline_value += "Paris";
  r = Plan(inline_value, Mode::kAllowlist);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ranges,
            (std::vector<ByteRange>{{48, 4}, {56, 8}, {68, 67}}));
  r = Plan(t, Mode::kLocationOnly);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ranges, (std::vector<ByteRange>{{68, 30}, {106, 24}}));
  // A SubIFD pointing back at IFD0: a loop, refused.
  std::string loop = t;
  loop.replace(8 + 2 + 12 + 8, 4, Le32(8));
  EXPECT_FALSE(Plan(loop, Mode::kAllowlist).ok());
}

TEST(ExifAllowlistLayoutTest, UnfollowableExifGoesWhole) {
  std::string exif = GpsInExifIfd();
  exif.replace(10, 4, Le32(100000));  // IFD0 offset past the end
  const std::string jpeg = "\xff\xd8" + Segment(0xe1, exif) + "\xff\xd9";
  absl::StatusOr<Redaction> r = Plan(jpeg, Mode::kAllowlist);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ranges, (std::vector<ByteRange>{{12, 142}}));
  // A whole TIFF has nothing to fall back to.
  EXPECT_FALSE(Plan(exif.substr(6), Mode::kAllowlist).ok());
}

// The APPn segments the allowlist keeps keep only their own fields: bytes
// appended to a JFIF or Adobe segment (where a writer could park anything)
// are zeroed, a JFXX extension (a nested thumbnail JPEG) goes whole, an ICC
// profile stays whole.
TEST(JpegAllowlistLayoutTest, KeptSegmentsKeepOnlyTheirFields) {
  auto segment = [](int marker, const std::string& payload) {
    std::string s = {'\xff', static_cast<char>(marker)};
    const size_t length = payload.size() + 2;
    s.push_back(static_cast<char>(length >> 8));
    s.push_back(static_cast<char>(length & 0xff));
    return s + payload;
  };
  // JFIF 1.01, no units, density 1x1, a 1x1 RGB thumbnail, then extra bytes.
  const std::string jfif =
      std::string("JFIF\0\x01\x01\x00\x00\x01\x00\x01\x01\x01", 14) + "RGB" +
      "ParisAfterJfif";
  const std::string adobe =
      std::string("Adobe\x00\x64\x00\x00\x00\x00\x01", 12) + "ParisAfterAdobe";
  const std::string jfxx = std::string("JFXX\0\x10", 6) + "ParisInJfxx";
  const std::string icc = std::string("ICC_PROFILE\0\x01\x01", 14) + "desc";
  std::string jpeg = "\xff\xd8";
  const uint64_t jfif_at = jpeg.size() + 4;
  jpeg += segment(0xe0, jfif);
  const uint64_t adobe_at = jpeg.size() + 4;
  jpeg += segment(0xee, adobe);
  const uint64_t jfxx_at = jpeg.size() + 4;
  jpeg += segment(0xe0, jfxx);
  jpeg += segment(0xe2, icc);
  jpeg += "\xff\xd9";
  StringSource source(jpeg);
  absl::StatusOr<Redaction> plan = PlanRedaction(source, Profile());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->ranges,
            (std::vector<ByteRange>{{jfif_at + 17, 14},
                                    {adobe_at + 12, 15},
                                    {jfxx_at, jfxx.size()}}));
  std::string redacted = jpeg;
  ZeroRanges(plan->ranges, 0, redacted.data(), redacted.size());
  EXPECT_EQ(redacted.find("Paris"), std::string::npos);
  EXPECT_NE(redacted.find("RGB"), std::string::npos);
  EXPECT_NE(redacted.find("desc"), std::string::npos);
}

}  // namespace
}  // namespace scopedfs::redact
