// Many variants of real media files that carry a location, for the exiftool
// differential test of redact/ (tests/redact_oracle_test.cc).
//
// Base files are made once per run with ImageMagick (`convert`) and ffmpeg,
// location metadata is written with exiftool (EXIF GPS, XMP exif:GPS* and
// photoshop:City/Country, IPTC, QuickTime Keys/UserData/ItemList, Matroska
// tags), then each variant is a base file put through a seeded list of
// byte-level transforms (JPEG fill bytes and standalone markers, PNG chunk
// order, TIFF IFD moves, ISO-BMFF boxes at odd depths, RIFF odd sizes,
// padding so the metadata crosses 4 KiB and 128 KiB boundaries, ...).
// Structural offsets the transforms move (ISO-BMFF stco/co64/iloc, TIFF IFD
// pointers, RIFF sizes, PNG CRCs) are patched so the variant stays a valid
// file; whether exiftool still reads the location is for the caller to
// check (ExiftoolBatch).
#ifndef SCOPEDFS_TESTS_MEDIA_VARIANTS_H_
#define SCOPEDFS_TESTS_MEDIA_VARIANTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace scopedfs::testing {

// The formats the generator makes, in table order: "jpeg", "png", "tiff",
// "gif", "webp", "heic", "avif", "bmp", "mp4", "mov", "3gp", "mkv",
// "webm", "avi".
const std::vector<std::string>& MediaFormats();
bool IsVideoFormat(const std::string& format);

// The strings written into the location metadata: none may survive an
// allowlist redaction (as raw bytes).
const std::vector<std::string>& LocationSecrets();

struct MediaVariant {
  std::string format;                   // One of MediaFormats().
  std::string name;                     // "jpeg-007": unique, a file stem.
  std::vector<std::string> transforms;  // "base=prog.jpg", "fill-ff(3)", ...
  std::string path;                     // The variant's file.
};

// "base=x.jpg fill-ff(3) pad(4096)".
std::string DescribeTransforms(const MediaVariant& v);

// Whether convert, identify, exiftool, ffmpeg and ffprobe are all on PATH;
// if not, `missing` names the first missing tool.
bool HaveMediaTools(std::string* missing);

// Makes the base files in `dir`/base and `per_format` variants of each
// format in `dir` (variant 0 of each base file is that base, untouched).
// Same seed, same tools: same variants. Returns false and sets `error` if a
// base file could not be made.
bool GenerateMediaVariants(const std::string& dir, int per_format,
                           uint32_t seed, std::vector<MediaVariant>* out,
                           std::string* error);

// One exiftool line: "[Group] Name : value" split.
struct ExifTag {
  std::string group;
  std::string name;
  std::string value;
  std::string line;
};

// Runs one exiftool process (`exiftool -a -G1 -s -n -m -ee`) over all
// `paths`; the tags of each path (a path exiftool printed nothing for maps
// to an empty list).
std::map<std::string, std::vector<ExifTag>> ExiftoolBatch(
    const std::vector<std::string>& paths, const std::string& work_dir);

// A tag that carries a location (name has GPS, City, Country, Location,
// State, Sublocation or WorldRegion) with a value that is not redacted
// (not empty, not all zeros/punctuation; a 3GPP loci box's labels do not
// count). exiftool's own groups (System, File, ExifTool), *GPSVersionID,
// numeric *GPSInfo (IFD offsets) and Composite's hemisphere letters
// (derived from a number, "N" for a zeroed latitude) are not locations.
bool IsLocationLeak(const ExifTag& tag);

// Decoding check of many files at once (2 in parallel): images with
// `identify`, videos with `ffprobe -v error` and
// `ffmpeg -v error -i F -map 0:v:0 -f null -` (its -progress gives the
// decoded frame count). Per path: exit status 0 for all tools (`ok`), the
// video frame count (-1 for images or when unreadable) and the first error
// line.
struct DecodeResult {
  bool ok = false;
  long frames = -1;
  std::string error;  // The first line a tool printed on stderr.
};
std::map<std::string, DecodeResult> DecodeBatch(
    const std::vector<std::pair<std::string, bool>>& path_is_video,
    const std::string& work_dir);

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_MEDIA_VARIANTS_H_
