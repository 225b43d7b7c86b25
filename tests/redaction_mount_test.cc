// The redacted view in a live mount: bob (ALLOW_REDACTED) reads photos with
// their location zeroed through every read path, while alice reads the
// real bytes through passthrough at the same time. exiftool is the
// independent oracle. The profile here is LOCATION_ONLY (other metadata
// stays); redaction_content_test covers the default allowlist profile.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "redact/redact.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kAlice = 1000;  // Full access.
constexpr uid_t kBob = 1001;    // Photos redacted.

constexpr char kPolicy[] = R"pb(
  apps { name: "alice" uids: 1000 }
  apps { name: "bob" uids: 1001 }
  redaction_profiles { name: "location" mode: REDACTION_MODE_LOCATION_ONLY exif_gps: true xmp_location: true video_location: true }
  rules { id: "bob-redacted" apps: "bob" paths: "photos/" operations: READ classes: [IMAGE, VIDEO] action: ALLOW_REDACTED redaction_profile: "location" }
  rules { id: "bob-read-only" apps: "bob" paths: "photos/" operations: [WRITE, SETATTR, DELETE, RENAME, CREATE] action: DENY }
  default_action: ALLOW
)pb";

bool HaveTools() {
  return system("command -v exiftool >/dev/null && command -v convert >/dev/null") == 0;
}

// A shell command's stdout.
std::string Capture(const std::string& cmd) { return RunShell(cmd).output; }

class RedactionMountTest : public MountTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    WriteFile(dir_.Sub("policy.textproto"), kPolicy);
    // Long kernel caches: what the kernel keeps must be right for every
    // caller for that long (the tests below alternate callers on kept
    // entries and listings).
    return {"--policy=" + dir_.Sub("policy.textproto"), "--timeout=60"};
  }
  void SetUp() override {
    if (!HaveTools()) {
      std::fprintf(stderr, "\n*** SKIPPED: exiftool or ImageMagick missing ***\n");
      GTEST_SKIP() << "SKIPPED: exiftool or ImageMagick missing";
    }
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(mkdir(B("photos").c_str(), 0755), 0);
    const std::string jpg = B("photos/eiffel.jpg");
    ASSERT_EQ(system(absl::StrCat(
                  "convert -size 640x480 gradient:blue-red ", jpg,
                  " && exiftool -q -overwrite_original -GPSLatitude=48.8584 "
                  "-GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E "
                  "-GPSAltitude=35 -XMP:GPSLatitude=48.8584 -XMP:GPSLongitude=2.2945 "
                  "-XMP-photoshop:City=Paris -Artist=Someone ", jpg)
                  .c_str()),
              0);
    chmod(jpg.c_str(), 0644);
    original_ = ReadFile(jpg);
    ASSERT_GT(original_.size(), 1000u);
    // The expected redacted bytes: the original with the library's ranges
    // zeroed (exiftool below checks independently that no location is left).
    const redact::StringSource src(original_);
    auto ranges = redact::FindLocationRanges(src, redact::Profile());
    ASSERT_TRUE(ranges.ok()) << ranges.status();
    ASSERT_FALSE(ranges->empty());
    redacted_ = original_;
    redact::ZeroRanges(*ranges, 0, redacted_.data(), redacted_.size());
    ASSERT_NE(redacted_, original_);
  }

  // exiftool's view of `path` as `uid`.
  std::string ExifAs(uid_t uid, const std::string& path) {
    return Capture(absl::StrCat("setpriv --reuid=", uid, " --regid=", uid,
                                " --clear-groups exiftool -a -s -G1 -n ", path));
  }

  TempDir dir_;
  std::string original_, redacted_;
};

TEST_F(RedactionMountTest, ExiftoolFindsNoLocationForTheRedactedCaller) {
  const std::string full = ExifAs(kAlice, M("photos/eiffel.jpg"));
  ASSERT_NE(full.find("GPSLatitude"), std::string::npos) << full;
  ASSERT_NE(full.find("Paris"), std::string::npos) << full;
  const std::string seen = ExifAs(kBob, M("photos/eiffel.jpg"));
  EXPECT_NE(seen.find("Artist"), std::string::npos) << "metadata is gone: " << seen;
  for (const char* leak : {"GPSLatitude", "GPSLongitude", "GPSAltitude",
                           "Paris", "48.858", "2.294"}) {
    EXPECT_EQ(seen.find(leak), std::string::npos) << leak << " in\n" << seen;
  }
  const std::string identify = Capture(absl::StrCat(
      "setpriv --reuid=", kBob, " --regid=", kBob,
      " --clear-groups identify -format '%wx%h' ", M("photos/eiffel.jpg"),
      " 2>/dev/null"));
  EXPECT_EQ(identify, "640x480") << "the redacted image must still decode";
}

TEST_F(RedactionMountTest, EveryReadPathServesRedactedBytes) {
  const std::string path = M("photos/eiffel.jpg");
  const std::string out_path = dir_.Sub("copy");
  WriteFile(out_path, "");
  chmod(out_path.c_str(), 0666);
  chmod(dir_.path().c_str(), 0777);
  const size_t size = original_.size();
  const std::string expect = redacted_;
  const int fails = RunAs(User(kBob), [&] {
    int bad = 0;
    auto check = [&](const std::string& got, int bit) {
      if (got != expect) bad |= bit;
    };
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return 255;
    std::string buf(size, '\0');
    // read() in small chunks.
    size_t done = 0;
    for (ssize_t n; done < size && (n = read(fd, &buf[done], 1000)) > 0;) done += n;
    check(buf, 1);
    // pread at odd offsets.
    std::string p(size, '\0');
    for (size_t off = 0; off < size; off += 777) {
      if (pread(fd, &p[off], std::min<size_t>(777, size - off), off) < 0) bad |= 2;
    }
    check(p, 2);
    // preadv into two buffers.
    std::string a(size / 2, '\0'), b(size - size / 2, '\0');
    iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    if (preadv(fd, iov, 2, 0) != static_cast<ssize_t>(size)) bad |= 4;
    check(a + b, 4);
    // mmap, shared and private.
    for (int flags : {MAP_SHARED, MAP_PRIVATE}) {
      void* m = mmap(nullptr, size, PROT_READ, flags, fd, 0);
      if (m == MAP_FAILED) {
        bad |= 8;
        continue;
      }
      check(std::string(static_cast<char*>(m), size), 8);
      munmap(m, size);
    }
    // sendfile and splice out of the file, copy_file_range into another.
    const int out = open(out_path.c_str(), O_WRONLY | O_TRUNC);
    off_t off = 0;
    while (off < static_cast<off_t>(size)) {
      if (sendfile(out, fd, &off, size - off) <= 0) { bad |= 16; break; }
    }
    close(out);
    check(ReadFile(out_path), 16);
    int pipefd[2];
    pipe(pipefd);
    loff_t in_off = 0;
    std::string spliced;
    while (in_off < static_cast<loff_t>(size)) {
      const ssize_t n = splice(fd, &in_off, pipefd[1], nullptr, 65536, 0);
      if (n <= 0) { bad |= 32; break; }
      std::string chunk(n, '\0');
      if (read(pipefd[0], chunk.data(), n) != n) bad |= 32;
      spliced += chunk;
    }
    check(spliced, 32);
    // copy_file_range needs both files on one file system: the mount.
    const std::string in_mount = M("bob-copy.bin");
    const int out2 = open(in_mount.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    loff_t cin = 0, cout = 0;
    while (cin < static_cast<loff_t>(size)) {
      if (copy_file_range(fd, &cin, out2, &cout, size - cin, 0) <= 0) { bad |= 64; break; }
    }
    close(out2);
    check(ReadFile(in_mount), 64);
    // Writing through the redacted view is refused.
    if (open(path.c_str(), O_RDWR) >= 0 || errno != EACCES) bad |= 128;
    close(fd);
    return bad;
  });
  EXPECT_EQ(fails, 0) << "bitmask of read paths that did not serve the redacted bytes";
  EXPECT_EQ(ReadFile(B("photos/eiffel.jpg")), original_) << "the real file changed";
  EXPECT_GE(Stat("opens_redacted"), 1u);
}

TEST_F(RedactionMountTest, FullAndRedactedCallersAtOnceAndAlternating) {
  const std::string path = M("photos/eiffel.jpg");
  const size_t size = original_.size();
  // Alice holds the file open (passthrough) and mmapped the whole time.
  int ready[2], done[2];
  pipe(ready);
  pipe(done);
  const std::string orig = original_;
  const pid_t holder = fork();
  if (holder == 0) {
    if (!BecomeIdentity(User(kAlice))) _exit(99);
    const int fd = open(path.c_str(), O_RDONLY);
    void* m = fd < 0 ? MAP_FAILED : mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) _exit(98);
    char c = 1;
    write(ready[1], &c, 1);
    read(done[0], &c, 1);
    const bool same = std::string(static_cast<char*>(m), size) == orig;
    std::string again(size, '\0');
    const bool pread_same = pread(fd, again.data(), size, 0) == static_cast<ssize_t>(size) && again == orig;
    _exit(same && pread_same ? 0 : 1);
  }
  char c;
  read(ready[0], &c, 1);
  // 1000 alternations: alice and bob open the same path in turn.
  const std::string red = redacted_;
  std::vector<pid_t> kids;
  for (uid_t uid : {kAlice, kBob}) {
    const pid_t pid = fork();
    if (pid == 0) {
      if (!BecomeIdentity(User(uid))) _exit(99);
      const std::string& want = uid == kAlice ? orig : red;
      std::string buf(size, '\0');
      for (int i = 0; i < 1000; ++i) {
        const int fd = open(path.c_str(), O_RDONLY);
        if (fd < 0) _exit(10);  // EIO or ESTALE would land here.
        if (pread(fd, buf.data(), size, 0) != static_cast<ssize_t>(size)) _exit(11);
        if (buf != want) _exit(12);
        close(fd);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "an alternating client failed: " << WEXITSTATUS(status);
  }
  write(done[1], &c, 1);
  int status = 0;
  waitpid(holder, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "alice's open, mmapped file did not keep the real bytes";
}

// A policy change reaches callers at their next open: with the EXIF part of
// the profile switched off, bob sees the EXIF GPS again but still not the
// XMP location (his view's cached pages were dropped); with redaction gone,
// he sees everything.
TEST_F(RedactionMountTest, AListingDecidesEachEntryOnceAndTheKernelKeepsIt) {
  // Which view of a photo a caller gets does not stop the kernel from
  // keeping its entry for everyone (an open on the other view answers
  // ESTALE, and the kernel looks the name up again): no caller who may list
  // photos/ could be shown another visibility. So a listing decides each
  // entry once and hands the kernel entries it keeps: stat of every listed
  // name then asks the daemon nothing, and a second listing comes from the
  // kernel's listing cache.
  constexpr int kFiles = 300;
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = B(absl::StrFormat("photos/p%03d.jpg", i));
    WriteFile(name, original_);
    chmod(name.c_str(), 0644);
  }
  struct stat st;
  ASSERT_EQ(stat(M("photos").c_str(), &st), 0);
  auto before = mnt_->Stats();
  ASSERT_TRUE(before.ok());
  const std::string as_bob = absl::StrCat("setpriv --reuid=", kBob, " --regid=",
                                          kBob, " --clear-groups ");
  const std::string listed = Capture(absl::StrCat(as_bob, "ls -f ", M("photos")));
  int names = 0;
  for (absl::string_view line : absl::StrSplit(listed, '\n')) {
    if (absl::StartsWith(line, "p") && absl::EndsWith(line, ".jpg")) ++names;
  }
  EXPECT_EQ(names, kFiles) << listed;
  EXPECT_NE(listed.find("eiffel.jpg"), std::string::npos);
  auto listed_stats = mnt_->Stats();
  ASSERT_TRUE(listed_stats.ok());
  const std::string lookups = "decisions{operation=\"lookup\",decision=\"allow\"}";
  const uint64_t decided = (*listed_stats)[lookups] - (*before)[lookups];
  EXPECT_GE(decided, static_cast<uint64_t>(kFiles));
  EXPECT_LE(decided, static_cast<uint64_t>(kFiles) * 3 / 2) << "more than one per entry";
  // Stat every name, and list again, as bob, then as alice (who gets the
  // other view of every photo). Bob looks up at most once what the listing
  // did not already hand over (readdirplus sends attributes for only part
  // of a long listing); after that nothing reaches the daemon.
  const auto stat_and_list = [&](uint32_t uid) {
    const std::string as = absl::StrCat("setpriv --reuid=", uid, " --regid=",
                                        uid, " --clear-groups ");
    EXPECT_EQ(Capture(absl::StrCat(as, "sh -c 'cd ", M("photos"),
                                   " && stat -c %s p*.jpg | wc -l'")),
              absl::StrCat(kFiles, "\n"));
    EXPECT_EQ(Capture(absl::StrCat(as, "ls -f ", M("photos"))), listed);
  };
  stat_and_list(kBob);
  auto kept = mnt_->Stats();
  ASSERT_TRUE(kept.ok());
  EXPECT_LE((*kept)["lookups"] - (*listed_stats)["lookups"],
            static_cast<uint64_t>(kFiles))
      << "a name looked up more than once";
  stat_and_list(kAlice);
  stat_and_list(kBob);
  auto after = mnt_->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)["lookups"], (*kept)["lookups"])
      << "a kept entry was looked up again";
  // Only each opendir is decided (on the directory: 2 per pass, the shell's
  // glob and ls), never an entry again.
  EXPECT_LE((*after)[lookups] - (*kept)[lookups], 8u)
      << "a kept listing or entry was decided again";
}

TEST_F(RedactionMountTest, PolicyChangesReachTheViewAtTheNextOpen) {
  const std::string path = M("photos/eiffel.jpg");
  ASSERT_EQ(ExifAs(kBob, path).find("GPSLatitude"), std::string::npos);
  auto apply = [&](const std::string& text) {
    const std::string file = dir_.Sub("next.textproto");
    WriteFile(file, text);
    const std::string ctl = absl::StrCat(
        getenv("TEST_SRCDIR"), "/scopedfs/tools/scopedctl --state_dir=",
        mnt_->state_dir(), " policy apply ", file, " >/dev/null");
    return system(ctl.c_str());
  };
  std::string exif_only_off = kPolicy;
  const std::string from = "exif_gps: true xmp_location: true";
  exif_only_off.replace(exif_only_off.find(from), from.size(),
                        "exif_gps: false xmp_location: true");
  ASSERT_EQ(apply(exif_only_off), 0);
  const std::string partial = ExifAs(kBob, path);
  EXPECT_NE(partial.find("[GPS]"), std::string::npos) << partial;
  EXPECT_EQ(partial.find("Paris"), std::string::npos) << partial;
  ASSERT_EQ(apply("default_action: ALLOW\n"), 0);
  const std::string full = ExifAs(kBob, path);
  EXPECT_NE(full.find("Paris"), std::string::npos) << full;
  EXPECT_NE(full.find("[GPS]"), std::string::npos) << full;
}

// Other formats through the mount: PNG (eXIf + XMP), MP4 and MOV (ffmpeg's
// location metadata, QuickTime keys written by exiftool).
struct MediaCase {
  const char* name;
  const char* make;  // Shell command; $F is the file.
};

class RedactionFormatsTest : public RedactionMountTest,
                             public ::testing::WithParamInterface<MediaCase> {};

TEST_P(RedactionFormatsTest, NoLocationForTheRedactedCallerOnly) {
  if (system("command -v ffmpeg >/dev/null") != 0) {
    std::fprintf(stderr, "\n*** SKIPPED: ffmpeg missing ***\n");
    GTEST_SKIP() << "SKIPPED: ffmpeg missing";
  }
  const std::string file = B(absl::StrCat("photos/", GetParam().name));
  ASSERT_EQ(system(absl::StrCat("F=", file, "; ", GetParam().make,
                                " >/dev/null 2>&1")
                       .c_str()),
            0);
  chmod(file.c_str(), 0644);
  const std::string mounted = M(absl::StrCat("photos/", GetParam().name));
  auto location_lines = [](const std::string& exif) {
    std::string found;
    size_t pos = 0;
    while (pos < exif.size()) {
      const size_t end = exif.find('\n', pos);
      const std::string line = exif.substr(pos, end - pos);
      for (const char* word : {"GPS", "Location", "City", "48.858"}) {
        if (line.find(word) != std::string::npos) found += line + "\n";
      }
      pos = end == std::string::npos ? exif.size() : end + 1;
    }
    return found;
  };
  const std::string full = location_lines(ExifAs(kAlice, mounted));
  ASSERT_NE(full.find("48.858"), std::string::npos)
      << "the original must carry the location:\n" << full;
  const std::string seen = ExifAs(kBob, mounted);
  EXPECT_EQ(seen.find("48.858"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("2.294"), std::string::npos) << seen;
  // Same size, and only bytes inside the ranges differ.
  const std::string original = ReadFile(file);
  std::string via_bob;
  chmod(dir_.path().c_str(), 0777);
  RunAs(User(kBob), [&] {
    WriteFile(dir_.Sub("bob-view"), ReadFile(mounted));
    return 0;
  });
  via_bob = ReadFile(dir_.Sub("bob-view"));
  ASSERT_EQ(via_bob.size(), original.size());
  const redact::StringSource src(original);
  auto ranges = redact::FindLocationRanges(src, redact::Profile());
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  std::string expect = original;
  redact::ZeroRanges(*ranges, 0, expect.data(), expect.size());
  EXPECT_TRUE(via_bob == expect) << "bytes outside the ranges changed";
}

INSTANTIATE_TEST_SUITE_P(
    Media, RedactionFormatsTest,
    ::testing::Values(
        MediaCase{"gps.png",
                  "convert -size 64x48 gradient: $F && exiftool -q -overwrite_original "
                  "-EXIF:GPSLatitude=48.8584 -EXIF:GPSLatitudeRef=N "
                  "-EXIF:GPSLongitude=2.2945 -EXIF:GPSLongitudeRef=E "
                  "-XMP:GPSLatitude=48.8584 -XMP:GPSLongitude=2.2945 $F"},
        MediaCase{"clip.mp4",
                  "ffmpeg -nostdin -y -f lavfi -i testsrc=duration=1:size=64x48:rate=10 "
                  "-metadata location=+48.8584+002.2945/ $F"},
        MediaCase{"clip.mov",
                  "ffmpeg -nostdin -y -f lavfi -i testsrc=duration=1:size=64x48:rate=10 $F "
                  "&& exiftool -q -overwrite_original "
                  "'-Keys:GPSCoordinates=48.8584, 2.2945, 35' $F"}),
    [](const ::testing::TestParamInfo<MediaCase>& info) {
      std::string n = info.param.name;
      std::replace(n.begin(), n.end(), '.', '_');
      return n;
    });

}  // namespace
}  // namespace scopedfs::testing
