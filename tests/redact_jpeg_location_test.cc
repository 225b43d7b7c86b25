// JPEG location-only mode where the metadata is not in the segments before
// the first scan: APP1 EXIF/XMP moved after the scan, and MPF (Multi-Picture
// Format) secondary images stored after the first image's EOI, each with its
// own EXIF GPS and XMP (which `exiftool -ee` reads). ImageMagick makes the
// pictures, exiftool writes the location and is the oracle on the redacted
// copies; the odd layouts are made by editing bytes here (exiftool cannot
// write MPF).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"
#include "tests/file_util.h"
#include "tests/shell.h"

namespace scopedfs::redact {
namespace {

using ::scopedfs::testing::ReadFile;
using ::scopedfs::testing::WriteFile;
using Mode = Profile::Mode;

using ::scopedfs::testing::Shell;

std::string Path(const std::string& name) {
  return ::scopedfs::testing::TestTmpDir() + "/" + name;
}

const char kGps[] =
    "-GPSLatitude=48.8584 -GPSLatitudeRef=N -GPSLongitude=2.2945 "
    "-GPSLongitudeRef=E -XMP:GPSLatitude=48.8584 -XMP:GPSLongitude=2.2945 "
    "-XMP-photoshop:City=Paris -Make=KeptCam ";

// exiftool's place tags (GPS*, City, Country, Location, State), embedded
// documents included, as "[group] name : value" lines.
std::vector<std::string> PlaceTags(const std::string& path,
                                   std::string* all = nullptr) {
  std::string out;
  Shell("exiftool -ee -a -G1 -s -n -m '" + path + "' 2>/dev/null", &out);
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "[System]")) continue;  // file names
    const absl::string_view name = line.substr(0, line.find(" : "));
    for (const char* word : {"GPS", "City", "Country", "Location", "State"}) {
      if (absl::StrContains(name, word)) {
        found.emplace_back(line);
        break;
      }
    }
  }
  if (all != nullptr) *all = out;
  return found;
}

absl::StatusOr<std::string> Redacted(const std::string& data, Mode mode) {
  StringSource source(data);
  Profile profile;
  profile.mode = mode;
  absl::StatusOr<Redaction> r = PlanRedaction(source, profile);
  if (!r.ok()) return r.status();
  for (const ByteRange& range : r->ranges) {
    EXPECT_LE(range.end(), data.size());
  }
  std::string out = data;
  ZeroRanges(r->ranges, 0, out.data(), out.size());
  return out;
}

bool Decodes(const std::string& path) {
  std::string out;
  return Shell("identify '" + path + "' >/dev/null 2>&1", &out) == 0;
}

// A JPEG segment before the first scan: [offset, offset + 2 + length).
struct Segment {
  unsigned char marker;
  size_t offset;
  size_t size;  // marker, length and payload
};

// The segments from SOI up to and including SOS (no fill bytes: files from
// ImageMagick and exiftool have none).
std::vector<Segment> SegmentsToScan(const std::string& d) {
  std::vector<Segment> out;
  size_t pos = 2;
  while (pos + 4 <= d.size() && static_cast<unsigned char>(d[pos]) == 0xff) {
    const unsigned char marker = d[pos + 1];
    const size_t length = static_cast<unsigned char>(d[pos + 2]) << 8 |
                          static_cast<unsigned char>(d[pos + 3]);
    out.push_back({marker, pos, 2 + length});
    if (marker == 0xda) break;
    pos += 2 + length;
  }
  return out;
}

std::string Be16(uint32_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}
std::string Be32(uint32_t v) {
  return absl::StrCat(Be16(v >> 16), Be16(v & 0xffff));
}

class JpegLocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"exiftool", "convert", "identify"}) {
      if (Shell(absl::StrCat("command -v ", tool, " >/dev/null 2>&1")) != 0) {
        std::fprintf(stderr,
                     "\n*** SKIPPED: %s missing; the JPEG location oracle "
                     "did NOT run ***\n\n",
                     tool);
        GTEST_SKIP() << tool << " missing";
      }
    }
  }

  // A baseline JPEG from ImageMagick, with `tags` written by exiftool.
  std::string Make(const std::string& name, const std::string& image,
                   const std::string& tags) {
    const std::string path = Path(name);
    std::string out;
    EXPECT_EQ(Shell("convert -size " + image + " '" + path + "' 2>&1", &out),
                0)
        << out;
    if (!tags.empty()) {
      EXPECT_EQ(Shell("exiftool -q -m -overwrite_original " + tags + " '" +
                          path + "' 2>&1",
                      &out),
                0)
          << out;
    }
    return ReadFile(path);
  }

  // Writes `data` as `name`, checks exiftool reads a place from it, then the
  // location-only view: no place, Make kept, still decodes. Returns it.
  std::string CheckLocationOnly(const std::string& name,
                                const std::string& data) {
    const std::string path = Path(name);
    WriteFile(path, data);
    EXPECT_FALSE(PlaceTags(path).empty()) << name << ": no place planted";
    EXPECT_TRUE(Decodes(path)) << name;
    absl::StatusOr<std::string> view = Redacted(data, Mode::kLocationOnly);
    EXPECT_TRUE(view.ok()) << name << ": " << view.status();
    if (!view.ok()) return "";
    const std::string out = Path("redacted-" + name);
    WriteFile(out, *view);
    std::string all;
    std::vector<std::string> left = PlaceTags(out, &all);
    EXPECT_TRUE(left.empty())
        << out << " still has:\n" << absl::StrJoin(left, "\n");
    EXPECT_TRUE(absl::StrContains(all, "KeptCam")) << out << ":\n" << all;
    EXPECT_TRUE(Decodes(out)) << out;
    return *view;
  }
};

TEST_F(JpegLocationTest, App1AfterTheScan) {
  const std::string d = Make("scan.jpg", "64x48 gradient:red-blue", kGps);
  ASSERT_FALSE(d.empty());
  std::vector<Segment> segments = SegmentsToScan(d);
  ASSERT_FALSE(segments.empty());
  ASSERT_EQ(segments.back().marker, 0xda);
  ASSERT_EQ(d.substr(d.size() - 2), "\xff\xd9");
  // Every APP1 (EXIF, XMP) leaves its place before the scan and goes
  // between the scan's entropy data and EOI.
  std::string before, moved;
  size_t from = 0;
  for (const Segment& s : segments) {
    if (s.marker != 0xe1) continue;
    absl::StrAppend(&before, d.substr(from, s.offset - from));
    absl::StrAppend(&moved, d.substr(s.offset, s.size));
    from = s.offset + s.size;
  }
  ASSERT_FALSE(moved.empty()) << "exiftool wrote no APP1";
  const std::string edited = absl::StrCat(
      before, d.substr(from, d.size() - 2 - from), moved, "\xff\xd9");
  const std::string view = CheckLocationOnly("scan-moved.jpg", edited);
  // The moved segments keep their markers and lengths.
  EXPECT_EQ(view.size(), edited.size());
  // Allowlist: as before (every APPn after a scan but EXIF's allowlist goes).
  absl::StatusOr<std::string> allow = Redacted(edited, Mode::kAllowlist);
  ASSERT_TRUE(allow.ok()) << allow.status();
  WriteFile(Path("allow-scan-moved.jpg"), *allow);
  EXPECT_TRUE(PlaceTags(Path("allow-scan-moved.jpg")).empty());
  EXPECT_TRUE(Decodes(Path("allow-scan-moved.jpg")));
}

// An APP2 "MPF\0" index (big-endian TIFF: MPFVersion, NumberOfImages,
// MPEntry with two 16-byte entries) for a primary image of `primary_size`
// bytes (this segment included) whose TIFF header starts at `tiff_at`, and
// a second image of `second_size` bytes right after it. `second_offset`
// overrides the second entry's offset (relative to the TIFF header).
std::string MpfSegment(uint32_t primary_size, uint32_t tiff_at,
                       uint32_t second_size, int64_t second_offset = -1) {
  const uint32_t offset = second_offset >= 0
                              ? static_cast<uint32_t>(second_offset)
                              : primary_size - tiff_at;
  const uint32_t entries_at = 8 + 2 + 3 * 12 + 4;
  const std::string tiff = absl::StrCat(
      "MM", Be16(42), Be32(8), Be16(3),
      // MPFVersion "0100" (UNDEFINED, inline)
      Be16(0xb000), Be16(7), Be32(4), "0100",
      // NumberOfImages (LONG)
      Be16(0xb001), Be16(4), Be32(1), Be32(2),
      // MPEntry (UNDEFINED, 32 bytes at entries_at)
      Be16(0xb002), Be16(7), Be32(32), Be32(entries_at), Be32(0),
      // Primary: baseline MP primary image, offset 0.
      Be32(0x20030000), Be32(primary_size), Be32(0), Be16(0), Be16(0),
      // Second: large thumbnail.
      Be32(0x00010001), Be32(second_size), Be32(offset), Be16(0), Be16(0));
  const std::string payload = absl::StrCat(std::string("MPF\0", 4), tiff);
  return absl::StrCat("\xff\xe2", Be16(2 + payload.size()), payload);
}

// size of MpfSegment's output.
constexpr uint32_t kMpfSegmentSize = 4 + 4 + 8 + 2 + 3 * 12 + 4 + 32;

// A primary JPEG (no location) with an MPF index, then a second JPEG with
// GPS and XMP location. Returns the file; *second_at: where the second
// image starts. `second_offset` as in MpfSegment.
std::string MakeMpf(const std::string& primary, const std::string& second,
                    size_t* second_at, int64_t second_offset = -1) {
  // After SOI and JFIF APP0, as cameras put it (before the scan).
  std::vector<Segment> segments = SegmentsToScan(primary);
  size_t insert = 2;
  if (!segments.empty() && segments[0].marker == 0xe0) {
    insert = segments[0].offset + segments[0].size;
  }
  const uint32_t total = primary.size() + kMpfSegmentSize;
  const std::string mpf =
      MpfSegment(total, insert + 8, second.size(), second_offset);
  EXPECT_EQ(mpf.size(), kMpfSegmentSize);
  std::string file = primary;
  file.insert(insert, mpf);
  *second_at = file.size();
  return file + second;
}

TEST_F(JpegLocationTest, MpfSecondaryImage) {
  const std::string primary =
      Make("mpf-primary.jpg", "64x48 gradient:red-blue", "-Make=KeptCam");
  const std::string second =
      Make("mpf-second.jpg", "32x24 gradient:blue-green", kGps);
  ASSERT_FALSE(primary.empty());
  ASSERT_FALSE(second.empty());
  size_t second_at = 0;
  const std::string file = MakeMpf(primary, second, &second_at);
  // exiftool reads the index and, with -ee, the second image's GPS.
  WriteFile(Path("mpf.jpg"), file);
  std::string all;
  PlaceTags(Path("mpf.jpg"), &all);
  EXPECT_TRUE(absl::StrContains(all, "NumberOfImages")) << all;
  EXPECT_TRUE(absl::StrContains(all, "MPImage2")) << all;
  std::string plain;
  Shell("exiftool -a -G1 -n -m '" + Path("mpf.jpg") + "'", &plain);
  EXPECT_FALSE(absl::StrContains(plain, "GPSLatitude"))
      << "the primary image has a place of its own:\n" << plain;

  const std::string view = CheckLocationOnly("mpf.jpg", file);
  ASSERT_EQ(view.size(), file.size());
  // The index stays, so readers still find the second image, which still
  // decodes by itself.
  WriteFile(Path("redacted-mpf.jpg"), view);
  PlaceTags(Path("redacted-mpf.jpg"), &all);
  EXPECT_TRUE(absl::StrContains(all, "MPImage2")) << all;
  WriteFile(Path("redacted-mpf-second.jpg"), view.substr(second_at));
  EXPECT_TRUE(Decodes(Path("redacted-mpf-second.jpg")));
  EXPECT_TRUE(PlaceTags(Path("redacted-mpf-second.jpg")).empty());

  // Allowlist: as before, nothing after the first EOI stays.
  absl::StatusOr<std::string> allow = Redacted(file, Mode::kAllowlist);
  ASSERT_TRUE(allow.ok()) << allow.status();
  EXPECT_EQ(allow->substr(second_at), std::string(second.size(), '\0'));

  // Every prefix (a truncated download) stays in bounds or is refused.
  for (size_t n = 0; n <= file.size(); n += 7) {
    StringSource source(absl::string_view(file).substr(0, n));
    Profile profile;
    profile.mode = Mode::kLocationOnly;
    absl::StatusOr<Redaction> r = PlanRedaction(source, profile);
    if (!r.ok()) continue;
    for (const ByteRange& range : r->ranges) EXPECT_LE(range.end(), n);
  }
}

TEST_F(JpegLocationTest, SecondImageWithoutIndexIsFoundByScanning) {
  const std::string primary =
      Make("cat-primary.jpg", "64x48 gradient:red-blue", "-Make=KeptCam");
  const std::string second =
      Make("cat-second.jpg", "32x24 gradient:blue-green", kGps);
  // Some junk between the images, as trailers have.
  const std::string file = absl::StrCat(primary, "junk", second);
  absl::StatusOr<std::string> view = Redacted(file, Mode::kLocationOnly);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->substr(0, primary.size() + 4),
            file.substr(0, primary.size() + 4));
  WriteFile(Path("redacted-cat-second.jpg"), view->substr(primary.size() + 4));
  EXPECT_TRUE(Decodes(Path("redacted-cat-second.jpg")));
  std::string all;
  EXPECT_TRUE(PlaceTags(Path("redacted-cat-second.jpg"), &all).empty()) << all;
  EXPECT_TRUE(absl::StrContains(all, "KeptCam")) << all;
}

TEST_F(JpegLocationTest, UnreadableEmbeddedImageZeroesAllAfterTheEoi) {
  const std::string primary =
      Make("bad-primary.jpg", "64x48 gradient:red-blue", "-Make=KeptCam");
  const std::string second =
      Make("bad-second.jpg", "32x24 gradient:blue-green", kGps);
  // The index points 10 bytes before the second image (the end of the
  // primary's scan and its EOI): no SOI there. (An entry reaching past the
  // end of the file is skipped instead: no reader can read it.)
  size_t second_at = 0;
  std::string file = MakeMpf(primary, second, &second_at, /*second_offset=*/0);
  const size_t tiff_at = file.find(std::string("MPF\0", 4)) + 4;
  file = MakeMpf(primary, second, &second_at,
                 static_cast<int64_t>(second_at - tiff_at - 10));
  absl::StatusOr<std::string> view = Redacted(file, Mode::kLocationOnly);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->substr(second_at), std::string(second.size(), '\0'));
  WriteFile(Path("redacted-bad.jpg"), *view);
  EXPECT_TRUE(Decodes(Path("redacted-bad.jpg")));

  // A second image whose segments are broken before its scan: the same.
  std::string broken = second;
  broken[2 + 2] = 0;  // the first segment's length: 0x00xx -> too short
  broken[2 + 3] = 1;
  file = absl::StrCat(primary, broken);
  view = Redacted(file, Mode::kLocationOnly);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->substr(primary.size()), std::string(broken.size(), '\0'));
}

}  // namespace
}  // namespace scopedfs::redact
