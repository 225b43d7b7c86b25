// Redaction decided by content, as a hostile app would try it, under the
// embedded Android default policy: the gallery (uid 1010001: media,
// media_location) and the social app (uid 1010002: media only, so images and
// videos of others are redacted for it). exiftool is the independent oracle.
// Both I/O modes (passthrough on and off).
//
//   - renamed files (a JPEG called IMG_0001.bin, photo, x.txt, x.pdf; a
//     video called .jpg) are redacted by what they contain;
//   - WebP and GIF (formats that once had no parser) are redacted;
//   - a file named like an image that no redactor can vouch for is refused
//     to the redacted caller (EACCES, counted, audited), served to others;
//   - the audit row of a redacted open says what was redacted;
//   - ranges follow the file: the owner rewrites a photo in place, moving
//     its metadata, while the social app holds it open and mapped, and no
//     coordinate ever appears to it.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "audit/database.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "redact/redact.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kGallery = 1010001;  // media + media_location: full.
constexpr uid_t kSocial = 1010002;   // media only: redacted.

// Distinctive coordinates, written as EXIF GPS (binary rationals) and XMP,
// with a city name that shows as bytes wherever the XMP is readable.
constexpr char kParis[] = "48.858412";
constexpr char kTokyo[] = "35.658581";
constexpr char kParisCity[] = "LutetiaSecretCity";
constexpr char kTokyoCity[] = "EdoSecretCity";

bool HaveTools() {
  return system("command -v exiftool >/dev/null && command -v convert "
                ">/dev/null && command -v ffmpeg >/dev/null") == 0;
}

std::string Capture(const std::string& cmd) { return RunShell(cmd).output; }

// exiftool's location lines for `path` read as `uid` (any group, -n).
std::string LocationAs(uid_t uid, const std::string& path) {
  const std::string out = Capture(absl::StrCat(
      "setpriv --reuid=", uid, " --regid=", uid,
      " --clear-groups exiftool -a -s -G1 -n -m -ee '", path, "' 2>&1"));
  std::string found;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(pos, end - pos);
    for (const char* word : {"GPS", "Location", "City", "Country", "48.858",
                             "35.658", "Error"}) {
      if (line.find(word) != std::string::npos) {
        found += line + "\n";
        break;
      }
    }
    pos = end + 1;
  }
  return found;
}

// A JPEG with the position `coord` in EXIF GPS and XMP, and `city`.
std::string MakeLocatedJpeg(const std::string& path, const char* coord,
                            const char* city = "Paris",
                            const char* image = "-size 320x240 gradient:blue-red") {
  const std::string cmd = absl::StrCat(
      "convert ", image, " '", path,
      "' && exiftool -q -overwrite_original -GPSLatitude=", coord,
      " -GPSLatitudeRef=N -GPSLongitude=", coord,
      " -GPSLongitudeRef=E -XMP:GPSLatitude=", coord,
      " -XMP:GPSLongitude=", coord, " -XMP-photoshop:City=", city, " '", path,
      "' >/dev/null 2>&1");
  EXPECT_EQ(system(cmd.c_str()), 0) << cmd;
  chmod(path.c_str(), 0644);
  return ReadFile(path);
}

class RedactionContentTest : public MountTest,
                             public ::testing::WithParamInterface<bool> {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    // The embedded Android default policy, as a fresh state dir would get
    // it (the fixture's own default is allow-all).
    WriteFile(dir_.Sub("default.textproto"),
              std::string(policy::DefaultPolicyText()));
    return {"--policy=" + dir_.Sub("default.textproto"),
            absl::StrCat("--passthrough=", GetParam() ? "true" : "false")};
  }
  void SetUp() override {
    if (!HaveTools()) {
      std::fprintf(stderr,
                   "\n*** SKIPPED: exiftool, ImageMagick or ffmpeg missing ***\n");
      GTEST_SKIP() << "SKIPPED: exiftool, ImageMagick or ffmpeg missing";
    }
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(B("DCIM").c_str(), 0777), 0);
    ASSERT_EQ(mkdir(B("DCIM/Camera").c_str(), 0777), 0);
    chmod(B("DCIM").c_str(), 0777);
    chmod(B("DCIM/Camera").c_str(), 0777);
  }

  // The audit rows for `rel`, waiting up to 5 s for one with a non-empty
  // redaction field by `uid`.
  std::vector<v1::AuditEvent> RedactionRows(const std::string& rel, uid_t uid) {
    for (int i = 0; i < 100; ++i) {
      auto db = audit::Database::Open(mnt_->state_dir() + "/audit.db",
                                      audit::Database::Mode::kReadOnly);
      if (db.ok()) {
        v1::AuditFilter filter;
        filter.set_path_prefix(rel);
        filter.add_uids(uid);
        auto events = (*db)->Query(filter, 0, 0, false, 1000);
        std::vector<v1::AuditEvent> rows;
        if (events.ok()) {
          for (const v1::AuditEvent& e : *events) {
            if (!e.redaction().empty()) rows.push_back(e);
          }
        }
        if (!rows.empty()) return rows;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return {};
  }

  TempDir dir_;
};

// A JPEG renamed to anything is still redacted for the social app, and
// still readable in full by the gallery; the same for a video named .jpg.
TEST_P(RedactionContentTest, RenamedFilesAreRedactedByContent) {
  const std::string jpeg =
      MakeLocatedJpeg(B("DCIM/Camera/src.jpg"), kParis, kParisCity);
  ASSERT_GT(jpeg.size(), 1000u);
  ASSERT_TRUE(absl::StrContains(jpeg, kParisCity));
  const std::vector<std::string> names = {"IMG_0001.bin", "photo", "x.txt",
                                          "x.pdf", "notes.md"};
  for (const std::string& name : names) {
    WriteFile(B("DCIM/Camera/" + name), jpeg);
    chmod(B("DCIM/Camera/" + name).c_str(), 0644);
  }
  ASSERT_EQ(system(absl::StrCat(
                "ffmpeg -nostdin -y -v error -f lavfi -i "
                "testsrc=duration=1:size=64x48:rate=10 -metadata "
                "location=+48.8584+002.2945/ -f mp4 '",
                B("DCIM/Camera/clip.jpg"), "'")
                .c_str()),
            0);
  chmod(B("DCIM/Camera/clip.jpg").c_str(), 0644);
  for (const std::string& name : names) {
    const std::string path = M("DCIM/Camera/" + name);
    const std::string full = LocationAs(kGallery, path);
    EXPECT_TRUE(absl::StrContains(full, "GPSLatitude")) << name << ":\n" << full;
    const std::string seen = LocationAs(kSocial, path);
    EXPECT_EQ(seen, "") << name << " leaks to the social app:\n" << seen;
    // And the bytes: the XMP text is gone.
    const std::string bytes = Capture(absl::StrCat(
        "setpriv --reuid=", kSocial, " --regid=", kSocial,
        " --clear-groups cat '", path, "'"));
    EXPECT_EQ(bytes.size(), jpeg.size()) << name;
    EXPECT_FALSE(absl::StrContains(bytes, kParisCity)) << name;
    EXPECT_EQ(Capture(absl::StrCat("setpriv --reuid=", kSocial, " --regid=",
                                   kSocial, " --clear-groups identify -format "
                                   "'%wx%h' '",
                                   path, "' 2>/dev/null")),
              "320x240")
        << name << " must still decode";
  }
  const std::string clip = M("DCIM/Camera/clip.jpg");
  EXPECT_TRUE(absl::StrContains(LocationAs(kGallery, clip), "48.8584"));
  const std::string seen = LocationAs(kSocial, clip);
  EXPECT_FALSE(absl::StrContains(seen, "48.8584")) << seen;
  EXPECT_FALSE(absl::StrContains(seen, "2.2945")) << seen;
}

// WebP (RIFF EXIF/XMP chunks) and GIF (XMP application extension): no
// position for the redacted caller, the image still decodes.
TEST_P(RedactionContentTest, WebpAndGifAreRedacted) {
  struct Case {
    const char* name;
    const char* tags;
  } cases[] = {
      {"a.webp", "-GPSLatitude=48.858412 -GPSLatitudeRef=N "
                 "-GPSLongitude=2.2945 -GPSLongitudeRef=E "
                 "-XMP:GPSLatitude=48.858412 -XMP:GPSLongitude=2.2945"},
      {"a.gif", "-XMP:GPSLatitude=48.858412 -XMP:GPSLongitude=2.2945 "
                "-XMP-photoshop:City=Paris"},
  };
  for (const Case& c : cases) {
    const std::string file = B(absl::StrCat("DCIM/", c.name));
    ASSERT_EQ(system(absl::StrCat("convert -size 64x48 gradient:blue-red '",
                                  file, "' && exiftool -q -overwrite_original ",
                                  c.tags, " '", file, "' >/dev/null 2>&1")
                         .c_str()),
              0)
        << c.name;
    chmod(file.c_str(), 0644);
    const std::string path = M(absl::StrCat("DCIM/", c.name));
    ASSERT_TRUE(absl::StrContains(LocationAs(kGallery, path), "GPSLatitude"))
        << c.name << ": the original must carry a position";
    const std::string seen = LocationAs(kSocial, path);
    EXPECT_EQ(seen, "") << c.name << " leaks:\n" << seen;
    EXPECT_EQ(Capture(absl::StrCat("setpriv --reuid=", kSocial, " --regid=",
                                   kSocial, " --clear-groups identify -format "
                                   "'%wx%h ' '",
                                   path, "' 2>/dev/null")).substr(0, 5),
              "64x48")
        << c.name << " must still decode";
  }
}

// Named like an image, but no redactor can vouch for the content: refused to
// the redacted caller (and counted, and audited as such), served in full to
// the gallery. Text named .txt is no image: the social app reads it.
TEST_P(RedactionContentTest, UnvouchedImagesAreRefusedToRedactedCallers) {
  WriteFile(B("DCIM/fake.jpg"), "not an image at all, GPS 48.858412\n");
  WriteFile(B("DCIM/jxl.jxl"), std::string("\0\0\0\x0cJXL \r\n\x87\n", 12) +
                                   std::string(100, 'x'));
  WriteFile(B("DCIM/notes.txt"), "plain text\n");
  for (const char* f : {"DCIM/fake.jpg", "DCIM/jxl.jxl", "DCIM/notes.txt"}) {
    chmod(B(f).c_str(), 0644);
  }
  for (const char* f : {"DCIM/fake.jpg", "DCIM/jxl.jxl"}) {
    EXPECT_EQ(RunAs(User(kSocial), [&] {
                const int fd = open(M(f).c_str(), O_RDONLY);
                if (fd >= 0) {
                  close(fd);
                  return 0;
                }
                return errno;
              }),
              EACCES)
        << f;
    EXPECT_EQ(RunAs(User(kGallery), [&] {
                const int fd = open(M(f).c_str(), O_RDONLY);
                if (fd < 0) return errno;
                close(fd);
                return 0;
              }),
              0)
        << f;
  }
  EXPECT_EQ(RunAs(User(kSocial), [&] {
              return ReadFile(M("DCIM/notes.txt")) == "plain text\n" ? 0 : 1;
            }),
            0);
  EXPECT_GE(Stat("redacted_opens_refused"), 2u);
  const std::vector<v1::AuditEvent> rows = RedactionRows("DCIM/fake.jpg", kSocial);
  ASSERT_FALSE(rows.empty()) << "no audit row says the view was refused";
  EXPECT_TRUE(absl::StartsWith(rows.back().redaction(), "refused:"))
      << rows.back().redaction();
  EXPECT_EQ(rows.back().error(), EACCES);
}

// The audit row of a redacted open names the profile, mode, format and the
// number of ranges.
TEST_P(RedactionContentTest, AuditRowSaysWhatWasRedacted) {
  MakeLocatedJpeg(B("DCIM/Camera/p.jpg"), kParis);
  ASSERT_EQ(RunAs(User(kSocial), [&] {
              return ReadFile(M("DCIM/Camera/p.jpg")).empty() ? 1 : 0;
            }),
            0);
  const std::vector<v1::AuditEvent> rows =
      RedactionRows("DCIM/Camera/p.jpg", kSocial);
  ASSERT_FALSE(rows.empty());
  const std::string& r = rows.back().redaction();
  EXPECT_TRUE(absl::StrContains(r, "profile=location")) << r;
  EXPECT_TRUE(absl::StrContains(r, "mode=allowlist")) << r;
  EXPECT_TRUE(absl::StrContains(r, "format=jpeg")) << r;
  EXPECT_TRUE(absl::StrContains(r, "ranges=")) << r;
  EXPECT_FALSE(absl::StrContains(r, "ranges=0")) << r;
  EXPECT_EQ(rows.back().decision(), v1::ALLOW_REDACTED);
}

// The owner (the gallery created the photo, so it may write it) rewrites it
// in place, alternating two versions whose metadata sit at different
// offsets, while the social app holds it open, mapped, and reads it over and
// over: neither coordinate ever appears to the social app, and after the
// writer is done its reads equal the redaction of the final version.
TEST_P(RedactionContentTest, RangesFollowTheFileRewrittenInPlace) {
  // Version A: Paris; version B: Tokyo with a large EXIF description, which
  // sits in the APP1 before the XMP's: every later metadata offset moves by
  // more than the XMP packet's length. Same size (padding after EOI).
  // Noisy pictures: their scan data spans the offsets where the other
  // version keeps metadata.
  constexpr char kNoisy[] = "-seed 7 -size 640x480 plasma:fractal";
  const std::string a =
      MakeLocatedJpeg(dir_.Sub("a.jpg"), kParis, kParisCity, kNoisy);
  std::string b = MakeLocatedJpeg(dir_.Sub("b.jpg"), kTokyo, kTokyoCity, kNoisy);
  ASSERT_EQ(system(absl::StrCat("exiftool -q -overwrite_original -ImageDescription=",
                                std::string(12000, 'd'), " '", dir_.Sub("b.jpg"),
                                "'")
                       .c_str()),
            0);
  b = ReadFile(dir_.Sub("b.jpg"));
  const size_t size = std::max(a.size(), b.size()) + 4096;
  std::string va = a, vb = b;
  va.resize(size, '\0');
  vb.resize(size, '\0');
  ASSERT_TRUE(absl::StrContains(va, kParisCity));
  ASSERT_TRUE(absl::StrContains(vb, kTokyoCity));
  // The gallery creates it through the mount: it owns it.
  const std::string path = M("DCIM/Camera/live.jpg");
  ASSERT_EQ(RunAs(User(kGallery), [&] {
              const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
              if (fd < 0) return errno;
              const bool ok = write(fd, va.data(), size) == static_cast<ssize_t>(size);
              close(fd);
              return ok ? 0 : 1;
            }),
            0);
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  const pid_t reader = fork();
  ASSERT_GE(reader, 0);
  if (reader == 0) {
    close(go[1]);
    if (!BecomeIdentity(User(kSocial))) _exit(99);
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) _exit(98);
    void* m = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) _exit(97);
    // O_DIRECT: every read reaches the daemon (the cached descriptor above
    // mostly reads the view's page cache), so each one is planned anew.
    const int direct = open(path.c_str(), O_RDONLY | O_DIRECT);
    if (direct < 0) _exit(errno == ESTALE ? 89 : errno == EACCES ? 88 : errno == EIO ? 87 : 93);
    void* aligned = nullptr;
    if (posix_memalign(&aligned, 4096, size + 4096) != 0) _exit(92);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(96);  // The writer has started.
    std::string buf(size, '\0');
    int rounds = 0;
    // Until the writer closes the pipe.
    fcntl(go[0], F_SETFL, O_NONBLOCK);
    for (;;) {
      const ssize_t n = pread(fd, buf.data(), size, 0);
      if (n < 0 && errno != EIO) _exit(95);
      const std::string mapped(static_cast<char*>(m), size);
      const ssize_t d = pread(direct, aligned, size, 0);
      if (d < 0 && errno != EIO) _exit(91);
      const std::string direct_read(static_cast<char*>(aligned),
                                    d > 0 ? static_cast<size_t>(d) : 0);
      const std::string* reads[] = {&buf, &mapped, &direct_read};
      for (int r = 0; r < 3; ++r) {
        if (absl::StrContains(*reads[r], kParisCity)) _exit(20 + r);
        if (absl::StrContains(*reads[r], kTokyoCity)) _exit(30 + r);
      }
      ++rounds;
      if (read(go[0], &c, 1) == 0) break;
    }
    _exit(rounds > 10 ? 0 : 94);
  }
  close(go[0]);
  const int writer_status = RunAs(User(kGallery), [&] {
    const int fd = open(path.c_str(), O_WRONLY);
    if (fd < 0) return 200;
    char c = 1;
    if (write(go[1], &c, 1) != 1) return 201;
    // At least 300 rewrites and a second, so the reader meets many versions.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (int i = 0; i < 300 || std::chrono::steady_clock::now() < until; ++i) {
      const std::string& v = i % 2 == 0 ? vb : va;
      if (pwrite(fd, v.data(), size, 0) != static_cast<ssize_t>(size)) return 202;
    }
    // End on version B.
    if (pwrite(fd, vb.data(), size, 0) != static_cast<ssize_t>(size)) return 203;
    close(fd);
    return 0;
  });
  close(go[1]);
  int status = 0;
  waitpid(reader, &status, 0);
  EXPECT_EQ(writer_status, 0);
  EXPECT_GT(Stat("redacted_replans"), 0u) << "the reads never met a new version";
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "2x/3x: the social app saw Paris/Tokyo (x: 0 read, 1 mmap, 2 "
         "O_DIRECT read); other: the reader failed";
  // After the writer is gone, a new read is exactly B redacted.
  const redact::StringSource src(vb);
  redact::Profile profile;
  profile.keep_capture_time = true;  // The default policy's profile.
  auto plan = redact::PlanRedaction(src, profile);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::string expect = vb;
  redact::ZeroRanges(plan->ranges, 0, expect.data(), expect.size());
  std::string got;
  chmod(dir_.path().c_str(), 0777);
  ASSERT_EQ(RunAs(User(kSocial), [&] {
              WriteFile(dir_.Sub("seen"), ReadFile(path));
              return 0;
            }),
            0);
  got = ReadFile(dir_.Sub("seen"));
  EXPECT_TRUE(got == expect) << "the view does not show the final version redacted";
  EXPECT_EQ(LocationAs(kSocial, path), "");
  EXPECT_TRUE(absl::StrContains(LocationAs(kGallery, path), "35.658"));
}

INSTANTIATE_TEST_SUITE_P(IoModes, RedactionContentTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Passthrough")
                                             : std::string("ServedByDaemon");
                         });

}  // namespace
}  // namespace scopedfs::testing
