// redact/ on real images: ImageMagick makes them, exiftool writes the
// location metadata and is the independent oracle on the redacted copies.
// Then fuzz-style: every prefix and thousands of corruptions of each file.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/file_util.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "tests/redact_test_util.h"
#include "tests/shell.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::redact {
namespace {

using ::scopedfs::testing::ReadFile;
using ::scopedfs::testing::WriteFile;

using ::scopedfs::testing::ExpectSaneRanges;
using ::scopedfs::testing::Shell;

std::string Dir() { return ::scopedfs::testing::TestTmpDir(); }

// The original values we write; none may survive redaction.
const char* const kSecrets[] = {"Paris",      "France",     "Eiffel",
                                "48.858",     "2.294",      "48,51.5",
                                "756/25",     "Lyon",       "45,45N",
                                "Rue Secrete"};

// Tag names exiftool uses for location data (any group): GPS*, City,
// Country, Location*, State, Sublocation, ... also inside longer names
// such as the PNG text "ExifGPSLatitude" or "LocationShownCity".
bool IsLocationTag(const std::string& name) {
  for (const char* s : {"GPS", "City", "Country", "Location", "State",
                        "Sublocation", "WorldRegion"}) {
    if (absl::StrContains(name, s)) return true;
  }
  return false;
}

// exiftool's location tags in `path` as "[Group] Name: value" lines.
std::vector<std::string> LocationTags(const std::string& path) {
  std::string out;
  Shell("exiftool -a -G1 -s -n -m -ee '" + path + "' 2>/dev/null", &out);
  std::vector<std::string> tags;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    size_t close = line.find(']');
    size_t colon = line.find(" : ");
    if (close == absl::string_view::npos || colon == absl::string_view::npos) {
      continue;
    }
    std::string name(absl::StripAsciiWhitespace(
        line.substr(close + 1, colon - close - 1)));
    if (IsLocationTag(name)) {
      tags.push_back(absl::StrReplaceAll(line, {{std::string(1, '\0'), "\\0"}}));
    }
  }
  return tags;
}

std::string Apply(const std::string& data, const std::vector<ByteRange>& r) {
  // In odd-sized pieces, the way reads reach the daemon.
  return testing::ApplyInPieces(data, r, 777);
}

const char kAttrXmp[] = R"(<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/'>
<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
 <rdf:Description rdf:about='' xmlns:ex='http://ns.adobe.com/exif/1.0/'
  xmlns:ps='http://ns.adobe.com/photoshop/1.0/'
  xmlns:Iptc4xmpExt='http://iptc.org/std/Iptc4xmpExt/2008-02-29/'
  ex:GPSLatitude='48,51.504N' ps:City="Paris" ex:GPSLongitude='2,17.67E'
  ps:Headline="hello">
  <Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType='Resource'>
   <Iptc4xmpExt:City>Lyon</Iptc4xmpExt:City>
   <Iptc4xmpExt:Sublocation>Rue Secrete</Iptc4xmpExt:Sublocation>
   <Iptc4xmpExt:GPSLatitude>45,45N</Iptc4xmpExt:GPSLatitude>
  </rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>
 </rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end='w'?>)";

class RedactImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tools_ = Shell("command -v exiftool convert identify >/dev/null 2>&1") == 0;
    if (!tools_) return;
    const std::string d = Dir();
    const std::string gps =
        "exiftool -q -overwrite_original -GPSLatitude=48.8584 "
        "-GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E "
        "-GPSAltitude=35 -XMP:GPSLatitude=48.8584 -XMP:GPSLongitude=2.2945 "
        "-XMP-photoshop:City=Paris -XMP-photoshop:Country=France "
        "'-XMP-iptcCore:Location=Eiffel Tower' -Artist=Someone ";
    WriteFile(d + "/attr.xmp", kAttrXmp);
    std::string big(70000, 'A');
    WriteFile(d + "/big.txt", big);
    const std::string cmds[] = {
        "convert -size 64x48 gradient: gps.jpg && " + gps + "gps.jpg",
        "convert -size 64x48 gradient: gps.png && " + gps + "gps.png",
        "convert -size 64x48 gradient: gps.tif && " + gps + "gps.tif",
        // ImageMagick's own PNG: raw profiles and one tEXt per property.
        "convert gps.jpg im.png",
        // XMP properties as attributes, another prefix, a structure.
        "convert -size 64x48 gradient: attr.jpg && exiftool -q "
        "-overwrite_original '-xmp<=attr.xmp' attr.jpg",
        // Large XMP: exiftool splits it into Extended XMP segments.
        "cp gps.jpg ext.jpg && exiftool -q -overwrite_original "
        "'-XMP-dc:Description<=big.txt' ext.jpg",
        "convert -size 64x48 gradient: clean.jpg && exiftool -q "
        "-overwrite_original -Artist=Someone -XMP-dc:Title=T clean.jpg",
        "convert -size 64x48 gradient: clean.png",
        "convert -size 64x48 gradient: clean.tif && exiftool -q "
        "-overwrite_original -Artist=Someone -XMP-dc:Title=T clean.tif",
    };
    for (const std::string& c : cmds) {
      ASSERT_EQ(Shell("cd '" + d + "' && " + c + " >/dev/null 2>&1"), 0) << c;
    }
  }

  void SetUp() override {
    if (!tools_) {
      std::fprintf(stderr,
                   "\n*** SKIPPED: exiftool, convert or identify missing; "
                   "the image oracle did NOT run ***\n\n");
      GTEST_SKIP() << "exiftool/ImageMagick missing";
    }
  }

  static std::vector<ByteRange> Find(const std::string& data) {
    StringSource source(data);
    absl::StatusOr<std::vector<ByteRange>> r =
        FindLocationRanges(source, Profile());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<ByteRange>{};
  }

  static bool tools_;
};
bool RedactImageTest::tools_ = false;

const char* const kLocated[] = {"gps.jpg", "gps.png", "gps.tif",
                                "im.png",  "attr.jpg", "ext.jpg"};

TEST_F(RedactImageTest, OracleFindsNoLocationAfterRedaction) {
  for (const char* name : kLocated) {
    SCOPED_TRACE(name);
    const std::string path = Dir() + "/" + name;
    const std::string data = ReadFile(path);
    // Not vacuous: exiftool sees the location in the original.
    std::vector<std::string> before = LocationTags(path);
    EXPECT_GE(before.size(), 3u) << absl::StrJoin(before, "\n");

    std::vector<ByteRange> ranges = Find(data);
    ExpectSaneRanges(ranges, data.size(), name);
    ASSERT_FALSE(ranges.empty());
    uint64_t zeroed = 0;
    for (const ByteRange& r : ranges) zeroed += r.length;
    std::printf("%-9s %6zu bytes, %3zu ranges, %5llu bytes zeroed\n", name,
                data.size(), ranges.size(),
                static_cast<unsigned long long>(zeroed));

    const std::string redacted = Apply(data, ranges);
    // Every byte outside the ranges is the original, every byte inside 0.
    size_t next = 0;
    for (uint64_t i = 0; i < data.size(); ++i) {
      while (next < ranges.size() && ranges[next].end() <= i) ++next;
      bool inside = next < ranges.size() && ranges[next].offset <= i;
      ASSERT_EQ(redacted[i], inside ? '\0' : data[i]) << "byte " << i;
    }
    const std::string out = Dir() + "/redacted-" + name;
    WriteFile(out, redacted);

    std::vector<std::string> after = LocationTags(out);
    EXPECT_TRUE(after.empty()) << absl::StrJoin(after, "\n");
    std::string all;
    Shell("exiftool -a -G1 -s -n -m -ee -b '" + out + "' 2>/dev/null", &all);
    for (const char* secret : kSecrets) {
      EXPECT_FALSE(absl::StrContains(all, secret)) << secret;
      EXPECT_FALSE(absl::StrContains(redacted, secret)) << secret;
    }
    // exiftool still reads the rest of the metadata.
    std::string artist;
    Shell("exiftool -s3 -Artist -XMP-photoshop:Headline '" + out + "'", &artist);
    EXPECT_TRUE(absl::StrContains(artist, "Someone") ||
                absl::StrContains(artist, "hello"))
        << artist;

    // The image still decodes, to the same pixels.
    std::string pixels_before, pixels_after;
    ASSERT_EQ(Shell("convert '" + path + "' -depth 8 rgb:- 2>/dev/null",
                  &pixels_before),
              0);
    ASSERT_EQ(Shell("convert '" + out + "' -depth 8 rgb:- 2>/dev/null",
                  &pixels_after),
              0);
    EXPECT_FALSE(pixels_after.empty());
    EXPECT_TRUE(pixels_before == pixels_after);
    EXPECT_EQ(Shell("identify '" + out + "' >/dev/null 2>&1"), 0);
  }
}

TEST_F(RedactImageTest, NothingToRedactWithoutLocation) {
  for (const char* name : {"clean.jpg", "clean.png", "clean.tif"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(LocationTags(Dir() + "/" + name).empty());
    EXPECT_TRUE(Find(ReadFile(Dir() + "/" + name)).empty());
  }
}

TEST_F(RedactImageTest, ProfileSwitchesParts) {
  const std::string data = ReadFile(Dir() + "/gps.jpg");
  StringSource source(data);
  Profile none;
  none.exif_gps = none.xmp_location = none.video_location = false;
  absl::StatusOr<std::vector<ByteRange>> r = FindLocationRanges(source, none);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  Profile exif_only = none;
  exif_only.exif_gps = true;
  r = FindLocationRanges(source, exif_only);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->empty());
  EXPECT_TRUE(absl::StrContains(Apply(data, *r), "Paris"));
}

// Every prefix of every file (a truncated download, a file being written)
// and thousands of random corruptions: never a crash or a range outside the
// data, and the prefixes' redacted copies leak nothing to exiftool.
TEST_F(RedactImageTest, TruncatedAndCorruptedInputs) {
  const std::string dir = Dir() + "/fuzz";
  ASSERT_EQ(Shell("rm -rf '" + dir + "' && mkdir '" + dir + "'"), 0);
  int oracle_files = 0, errors = 0, runs = 0;
  for (const char* name : kLocated) {
    SCOPED_TRACE(name);
    const std::string data = ReadFile(Dir() + "/" + name);
    const std::vector<ByteRange> full = Find(data);
    for (size_t len = 0; len <= data.size(); ++len) {
      const std::string prefix = data.substr(0, len);
      StringSource source(prefix);
      absl::StatusOr<std::vector<ByteRange>> r =
          FindLocationRanges(source, Profile());
      ++runs;
      if (!r.ok()) {
        ++errors;
        continue;
      }
      ExpectSaneRanges(*r, len, absl::StrCat(name, " prefix ", len));
      // Sample prefixes that cut through the metadata for the oracle.
      bool in_metadata = false;
      for (const ByteRange& f : full) {
        in_metadata |= len > f.offset && len <= f.end() + 64;
      }
      if (in_metadata && len % 13 == 0) {
        WriteFile(absl::StrCat(dir, "/", len, "-", name), Apply(prefix, *r));
        ++oracle_files;
      }
    }
    std::mt19937 rng(12345);
    for (int seed = 0; seed < 2500; ++seed) {
      rng.seed(seed);
      std::string m = data;
      int mutations = 1 + rng() % 8;
      for (int i = 0; i < mutations; ++i) {
        // Half near the metadata, where the parsers look.
        size_t at;
        if (rng() % 2 == 0 && !full.empty()) {
          const ByteRange& f = full[rng() % full.size()];
          at = (f.offset + rng() % (f.length + 128) + data.size() - 64) %
               data.size();
        } else {
          at = rng() % data.size();
        }
        static const char kValues[] = {'\0', '\xff', '\x01', '\x7f'};
        m[at] = rng() % 2 ? static_cast<char>(rng()) : kValues[rng() % 4];
      }
      if (rng() % 4 == 0) m.resize(rng() % (m.size() + 1));
      StringSource source(m);
      absl::StatusOr<std::vector<ByteRange>> r =
          FindLocationRanges(source, Profile());
      ++runs;
      if (!r.ok()) {
        ++errors;
        continue;
      }
      ExpectSaneRanges(*r, m.size(), absl::StrCat(name, " seed ", seed));
    }
  }
  std::printf("%d runs, %d errors (fail closed), %d prefixes for exiftool\n",
              runs, errors, oracle_files);
  // One exiftool run over all sampled prefixes.
  std::string out;
  Shell("exiftool -a -G1 -s -n -m -ee '" + dir + "' 2>/dev/null", &out);
  EXPECT_TRUE(absl::StrContains(out, "========"));
  for (const char* secret : kSecrets) {
    size_t at = out.find(secret);
    EXPECT_EQ(at, std::string::npos)
        << secret << " in: " << out.substr(out.rfind("========", at), 300);
  }
}

// Extended XMP split inside a location element: both chunks' data go. No
// tools needed: the JPEG is built by hand.
std::string Segment(const std::string& payload) {
  size_t n = payload.size() + 2;
  return std::string("\xff\xe1") + static_cast<char>(n >> 8) +
         static_cast<char>(n & 0xff) + payload;
}

std::string ExtendedChunk(const std::string& packet, size_t offset,
                          size_t length) {
  auto be32 = [](size_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  return Segment(std::string("http://ns.adobe.com/xmp/extension/\0", 35) +
                 std::string(32, 'G') + be32(packet.size()) + be32(offset) +
                 packet.substr(offset, length));
}

TEST(ExtendedXmpTest, ChunksOfAPacketWithLocationGoWhole) {
  const std::string packet =
      "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:Description "
      "xmlns:exif='http://ns.adobe.com/exif/1.0/'><exif:GPSLatitude>48,51N"
      "</exif:GPSLatitude></rdf:Description></x:xmpmeta>";
  const size_t cut = packet.find("48,51N") + 2;
  const std::string head = "\xff\xd8";
  const std::string c1 = ExtendedChunk(packet, 0, cut);
  const std::string c2 = ExtendedChunk(packet, cut, packet.size() - cut);
  const std::string jpeg = head + c1 + c2 + "\xff\xd9";
  StringSource source(jpeg);
  absl::StatusOr<std::vector<ByteRange>> r =
      FindLocationRanges(source, Profile());
  ASSERT_TRUE(r.ok()) << r.status();
  const uint64_t data1 = head.size() + 4 + 75;
  const uint64_t data2 = head.size() + c1.size() + 4 + 75;
  EXPECT_EQ(*r, (std::vector<ByteRange>{{data1, cut},
                                        {data2, packet.size() - cut}}));

  // Without a location property nothing goes.
  std::string harmless = packet;
  harmless.replace(harmless.find("GPSLatitude"), 11, "Make0000000");
  harmless.replace(harmless.rfind("GPSLatitude"), 11, "Make0000000");
  const std::string jpeg2 = head + ExtendedChunk(harmless, 0, cut) +
                            ExtendedChunk(harmless, cut, harmless.size() - cut);
  StringSource source2(jpeg2);
  r = FindLocationRanges(source2, Profile());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());

  // A missing chunk leaves the packet unparseable: the chunk present goes.
  const std::string jpeg3 = head + c1 + "\xff\xd9";
  StringSource source3(jpeg3);
  r = FindLocationRanges(source3, Profile());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, (std::vector<ByteRange>{{data1, cut}}));
}

}  // namespace
}  // namespace scopedfs::redact
