// Redacted views over reflinked copies (daemon/reflinked_views.h), on a
// loop-mounted xfs: the kernel serves the redacted app's reads and mmaps
// through passthrough over an unnamed copy whose location ranges are zeroed,
// and the real file is never its backing. As a hostile app would try it:
//   - every read path (read, mmap, O_DIRECT, copy_file_range, sendfile)
//     shows the same zeroed bytes, which equal the redactor's plan applied
//     to the real file, and exiftool (the independent oracle) finds no
//     location in them; the daemon never reads for the view;
//   - the owner rewrites the photo (new location, new pixels) while the app
//     holds it open and mapped: the open keeps the version it opened, a new
//     open shows the new version redacted, never an error and never the
//     new coordinates;
//   - no write reaches the copy or the real file through the view: O_RDWR is
//     refused, a shared writable mapping is refused, a private one stays
//     private;
//   - copies are bounded: beyond --max_reflink_views the daemon serves the
//     view itself, with the same bytes;
//   - the admin tightens the profile while the app holds the lenient view
//     open: the next open shows the strict view, never the held copy.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "redact/redact.h"
#include "redact/source.h"
#include "tests/loop_xfs.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kApp = 1001;  // Photos redacted (allowlist profile).

constexpr char kPolicy[] = R"pb(
  apps { name: "app" uids: 1001 }
  redaction_profiles { name: "strict" }
  rules { id: "app-redacted" apps: "app" paths: "photos/" operations: READ action: ALLOW_REDACTED redaction_profile: "strict" }
  rules { id: "app-read-only" apps: "app" paths: "photos/" operations: [WRITE, SETATTR, DELETE, RENAME, CREATE] action: DENY }
  default_action: ALLOW
)pb";

// Distinctive values that must never reach the app.
constexpr char kCoordA[] = "48.858412";
constexpr char kCoordB[] = "35.658581";
constexpr char kCityA[] = "LutetiaSecretCity";
constexpr char kCityB[] = "EdoSecretCity";

// Writes a JPEG with `coord` as EXIF GPS and XMP, and `city`, at `path`.
void MakeLocatedJpeg(const std::string& path, const char* coord,
                     const char* city, const char* image) {
  const std::string cmd = absl::StrCat(
      "convert ", image, " '", path, "' && exiftool -q -overwrite_original",
      " -GPSLatitude=", coord, " -GPSLatitudeRef=N -GPSLongitude=", coord,
      " -GPSLongitudeRef=E -XMP:GPSLatitude=", coord, " -XMP:GPSLongitude=",
      coord, " -XMP-photoshop:City=", city, " '", path, "' >/dev/null 2>&1");
  ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
  chmod(path.c_str(), 0644);
}

// The real file's bytes with the redactor's ranges zeroed: what any view
// of it must show.
std::string Redacted(const std::string& real) {
  redact::Profile profile;  // The allowlist, as "strict" above.
  auto plan = redact::PlanRedaction(redact::StringSource(real), profile);
  EXPECT_TRUE(plan.ok()) << plan.status();
  std::string out = real;
  if (plan.ok()) redact::ZeroRanges(plan->ranges, 0, out.data(), out.size());
  return out;
}

// exiftool's location lines for `path` as read by `uid`.
std::string LocationAs(uid_t uid, const std::string& path) {
  const std::string out =
      RunShell(absl::StrCat("setpriv --reuid=", uid, " --regid=", uid,
                            " --clear-groups exiftool -a -s -G1 -n -m '", path,
                            "' 2>&1"))
          .output;
  std::string found;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    for (const char* word : {"GPS", "City", "Location", "48.858", "35.658"}) {
      if (absl::StrContains(line, word)) {
        absl::StrAppend(&found, line, "\n");
        break;
      }
    }
  }
  return found;
}

// Whole-file reads of an open descriptor, by each way a client has.
std::string PreadAll(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "fstat failed";
  std::string out(static_cast<size_t>(st.st_size) + 4096, '\0');
  size_t got = 0;
  for (;;) {
    const ssize_t n = pread(fd, out.data() + got, out.size() - got, got);
    if (n < 0) return absl::StrCat("pread: ", std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

std::string MmapAll(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) return "fstat failed";
  void* p = mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return absl::StrCat("mmap: ", std::strerror(errno));
  std::string out(static_cast<const char*>(p), st.st_size);
  munmap(p, st.st_size);
  return out;
}

// Runs `fn` as the app with a pipe to report a string back.
std::string AsApp(const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (!BecomeIdentity(User(kApp))) _exit(1);
    const std::string out = fn();
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t n = write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) _exit(2);
      off += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[1 << 16];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed";
  return out;
}

// A client of the app's that holds `path` open across a change: it opens
// the file, runs `opened(fd)` and waits; Finish() lets it run
// `finished(fd)` and returns true if the open worked and that did.
class HeldOpenAsApp {
 public:
  HeldOpenAsApp(const std::string& path, const std::function<void(int)>& opened,
                const std::function<bool(int)>& finished) {
    if (pipe(to_child_) != 0 || pipe(from_child_) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(to_child_[1]);
      close(from_child_[0]);
      if (!BecomeIdentity(User(kApp))) _exit(10);
      const int fd = open(path.c_str(), O_RDONLY);
      if (fd < 0) _exit(11);
      opened(fd);
      char c = 'r';
      if (write(from_child_[1], &c, 1) != 1 || read(to_child_[0], &c, 1) != 1) _exit(12);
      _exit(finished(fd) ? 0 : 13);
    }
    close(to_child_[0]);
    close(from_child_[1]);
  }
  // Whether the child opened the file and now waits.
  bool Ready() {
    char c;
    return pid_ > 0 && read(from_child_[0], &c, 1) == 1;
  }
  bool Finish() {
    if (pid_ <= 0) return false;
    int status = 0;
    const bool told = write(to_child_[1], "c", 1) == 1;
    close(to_child_[1]);
    close(from_child_[0]);
    const bool reaped = waitpid(pid_, &status, 0) == pid_;
    pid_ = -1;
    return told && reaped && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  ~HeldOpenAsApp() {
    if (pid_ > 0) Finish();
  }

 private:
  int to_child_[2] = {-1, -1};
  int from_child_[2] = {-1, -1};
  pid_t pid_ = -1;
};

bool HasNoSecret(const std::string& bytes) {
  for (const char* secret : {kCoordA, kCoordB, kCityA, kCityB}) {
    if (absl::StrContains(bytes, secret)) return false;
  }
  return true;
}

class RedactionReflinkTest : public MountTest {
 protected:
  virtual std::vector<std::string> ExtraFlags() const { return {}; }
  virtual std::string Policy() const { return kPolicy; }
  void SetUp() override {
    SFS_SKIP_UNLESS_MOUNTING_WORKS();
    for (const std::string& why :
         {WhyLoopXfsCannotRun(),
          std::string(HaveTool("exiftool") && HaveTool("convert")
                          ? ""
                          : "exiftool or ImageMagick missing (./setup.sh)")}) {
      if (!why.empty()) {
        std::fprintf(stderr, "\n*** SKIPPED: %s ***\n", why.c_str());
        GTEST_SKIP() << "SKIPPED: " << why;
      }
    }
    WriteFile(dir_.Sub("policy.textproto"), Policy());
    std::vector<std::string> flags = {"--policy=" + dir_.Sub("policy.textproto")};
    for (const std::string& f : ExtraFlags()) flags.push_back(f);
    ScopedfsMount::DaemonOptions options;
    options.backing_on_xfs = true;
    auto m = ScopedfsMount::StartWith(flags, options);
    ASSERT_TRUE(m.ok()) << m.status();
    mnt_ = std::move(*m);
    ASSERT_EQ(mkdir(B("photos").c_str(), 0755), 0);
    MakeLocatedJpeg(B("photos/a.jpg"), kCoordA, kCityA,
                    "-size 1200x900 plasma:fractal -quality 95");
  }
  TempDir dir_;
};

TEST_F(RedactionReflinkTest, TheKernelServesTheViewOverAZeroedCopy) {
  const std::string real = ReadFile(B("photos/a.jpg"));
  ASSERT_FALSE(HasNoSecret(real)) << "the test photo carries no location";
  const std::string want = Redacted(real);
  ASSERT_NE(want, real);
  ASSERT_TRUE(HasNoSecret(want));
  const std::string path = M("photos/a.jpg");
  const std::string out_path = B("copied.jpg");
  const std::string seen = AsApp([&] {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return absl::StrCat("open: ", std::strerror(errno));
    const std::string read_bytes = PreadAll(fd);
    const std::string mapped = MmapAll(fd);
    const int direct = open(path.c_str(), O_RDONLY | O_DIRECT);
    const std::string direct_bytes =
        direct < 0 ? absl::StrCat("O_DIRECT open: ", std::strerror(errno)) : PreadAll(direct);
    const std::string direct_mapped = direct < 0 ? "" : MmapAll(direct);
    // sendfile into a pipe-less sink: a file the app may write (tmp).
    char tmpl[] = "/tmp/sfs-reflink-XXXXXX";
    const int sink = mkstemp(tmpl);
    off_t off = 0;
    struct stat st;
    fstat(fd, &st);
    const ssize_t sent = sendfile(sink, fd, &off, st.st_size);
    const std::string sent_bytes =
        sent == st.st_size ? PreadAll(sink) : absl::StrCat("sendfile: ", sent);
    close(sink);
    unlink(tmpl);
    close(direct);
    close(fd);
    for (const std::string* other : {&mapped, &direct_bytes, &direct_mapped, &sent_bytes}) {
      if (*other != read_bytes) return absl::StrCat("read paths differ: ", other->substr(0, 80));
    }
    return read_bytes;
  });
  EXPECT_EQ(seen.size(), want.size()) << seen.substr(0, 200);
  EXPECT_TRUE(seen == want) << "the view is not the real file with the plan's ranges zeroed";
  EXPECT_TRUE(HasNoSecret(seen));
  EXPECT_EQ(LocationAs(kApp, path), "");
  // The full reader (root) still sees the real bytes, and the real file is
  // untouched.
  EXPECT_TRUE(ReadFile(path) == real);
  EXPECT_TRUE(ReadFile(B("photos/a.jpg")) == real);
  EXPECT_NE(LocationAs(0, path).find(kCoordA), std::string::npos);
  auto stats = StatsWhen([](auto& s) { return s["backing_released"] >= 1; });
  EXPECT_GE(stats["redacted_copy_opens"], 3u) << "buffered, O_DIRECT, exiftool";
  EXPECT_EQ(stats["redacted_copies_made"], 1u) << "one version, one copy";
  EXPECT_EQ(stats["redacted_reads"], 0u) << "the daemon read for the view";
  EXPECT_EQ(stats["opens_cached"], 0u);
  EXPECT_EQ(stats["redacted_copies_live"], 1u) << "the copy kept for the next open";
  // The owner changes the file through the mount: the kept copy would pin
  // the old version's blocks for nothing, and goes.
  {
    const int fd = open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(write(fd, "\0", 1), 1);
    ASSERT_EQ(close(fd), 0);
  }
  EXPECT_EQ(StatsWhen([](auto& s) { return s["redacted_copies_live"] == 0; })
                ["redacted_copies_live"],
            0u);
}

TEST_F(RedactionReflinkTest, AnOpenKeepsItsVersionAndANewOpenSeesTheNext) {
  const std::string v1 = ReadFile(B("photos/a.jpg"));
  const std::string path = M("photos/a.jpg");
  // The app holds the photo open and mapped while the owner rewrites it in
  // place through the mount: new pixels, new coordinates, new city.
  std::string before, mapped_before;
  HeldOpenAsApp holder(
      path,
      [&](int fd) {
        before = PreadAll(fd);
        mapped_before = MmapAll(fd);
      },
      [&](int fd) {
        // After the rewrite: the same version as at open, by both paths.
        const std::string after = PreadAll(fd);
        return after == before && MmapAll(fd) == mapped_before &&
               before == mapped_before && HasNoSecret(after);
      });
  ASSERT_TRUE(holder.Ready());
  const std::string staged = B("v2.jpg");
  MakeLocatedJpeg(staged, kCoordB, kCityB, "-size 1100x800 gradient:green-yellow");
  const std::string v2 = ReadFile(staged);
  {
    // In place, as the owner's editor would (no new inode).
    const int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(write(fd, v2.data(), v2.size()), static_cast<ssize_t>(v2.size()));
    ASSERT_EQ(close(fd), 0);
  }
  const std::string seen = AsApp([&] {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return absl::StrCat("open: ", std::strerror(errno));
    const std::string bytes = PreadAll(fd);
    const std::string mapped = MmapAll(fd);
    close(fd);
    return bytes == mapped ? bytes : std::string("read and mmap differ");
  });
  EXPECT_TRUE(seen == Redacted(v2)) << "a new open does not show the new version, redacted: "
                                    << seen.substr(0, 100);
  EXPECT_TRUE(HasNoSecret(seen));
  EXPECT_EQ(LocationAs(kApp, path), "");
  EXPECT_TRUE(holder.Finish()) << "the open view changed or failed under its reader";
  EXPECT_NE(v1, v2);
  auto stats = StatsWhen([](auto& s) { return s["redacted_copies_made"] >= 2; });
  EXPECT_GE(stats["redacted_copies_made"], 2u);
  EXPECT_GE(stats["redacted_view_renewals"], 1u) << "the held node was reused";
  EXPECT_EQ(stats["redacted_reads"], 0u);
}

TEST_F(RedactionReflinkTest, NoWriteReachesTheCopyOrTheFile) {
  const std::string real = ReadFile(B("photos/a.jpg"));
  const std::string path = M("photos/a.jpg");
  const std::string result = AsApp([&]() -> std::string {
    if (open(path.c_str(), O_RDWR) >= 0 || errno != EACCES) return "O_RDWR not refused";
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return "open failed";
    struct stat st;
    fstat(fd, &st);
    void* shared = mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared != MAP_FAILED || errno != EACCES) return "shared writable mapping allowed";
    char* priv = static_cast<char*>(
        mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    if (priv == MAP_FAILED) return "private mapping failed";
    std::memset(priv, 'X', st.st_size);  // Copy-on-write: this mapping only.
    munmap(priv, st.st_size);
    const std::string again = PreadAll(fd);
    close(fd);
    if (absl::StrContains(again, "XXXXXXXX")) return "a private mapping's write leaked";
    return "ok";
  });
  EXPECT_EQ(result, "ok");
  // Another open (a fresh copy or the kept one) still shows the zeroed view.
  const std::string again = AsApp([&] {
    const int fd = open(path.c_str(), O_RDONLY);
    const std::string bytes = fd < 0 ? "open failed" : PreadAll(fd);
    close(fd);
    return bytes;
  });
  EXPECT_TRUE(again == Redacted(real));
  EXPECT_TRUE(ReadFile(B("photos/a.jpg")) == real);
}

class BoundedCopiesTest : public RedactionReflinkTest {
 protected:
  std::vector<std::string> ExtraFlags() const override {
    return {"--max_reflink_views=2"};
  }
};

TEST_F(BoundedCopiesTest, BeyondTheBoundTheDaemonServesTheSameBytes) {
  std::vector<std::string> reals;
  for (int i = 0; i < 4; ++i) {
    const std::string name = absl::StrCat("photos/p", i, ".jpg");
    MakeLocatedJpeg(B(name), kCoordA, kCityA,
                    absl::StrCat("-size ", 300 + i * 10, "x200 gradient:blue-red").c_str());
    reals.push_back(ReadFile(B(name)));
  }
  const std::string mount = M("photos");
  // All four held open at once: two copies, two daemon-served views.
  const std::string seen = AsApp([&] {
    std::vector<int> fds;
    std::string all;
    for (int i = 0; i < 4; ++i) {
      fds.push_back(open(absl::StrCat(mount, "/p", i, ".jpg").c_str(), O_RDONLY));
      if (fds.back() < 0) return absl::StrCat("open ", i, ": ", std::strerror(errno));
    }
    for (int fd : fds) {
      const std::string bytes = PreadAll(fd);
      if (MmapAll(fd) != bytes) return std::string("read and mmap differ");
      absl::StrAppend(&all, bytes.size(), ":", bytes);
    }
    for (int fd : fds) close(fd);
    return all;
  });
  std::string want;
  for (const std::string& real : reals) {
    absl::StrAppend(&want, real.size(), ":", Redacted(real));
  }
  EXPECT_TRUE(seen == want) << seen.substr(0, 100);
  EXPECT_TRUE(HasNoSecret(seen));
  auto stats = StatsWhen([](auto& s) { return s["backing_released"] >= 2; });
  EXPECT_EQ(stats["redacted_copy_opens"], 2u);
  EXPECT_GE(stats["redacted_copies_full"], 2u);
  EXPECT_GE(stats["redacted_reads"], 2u) << "the daemon served the others";
  EXPECT_LE(stats["redacted_copies_live"], 2u);
}

// A profile that keeps EXIF GPS: the app sees the coordinates, until the
// admin tightens the profile while the app holds the photo open.
class ProfileChangeTest : public RedactionReflinkTest {
 protected:
  std::string Policy() const override {
    std::string lenient = kPolicy;
    const std::string from = R"(redaction_profiles { name: "strict" })";
    lenient.replace(lenient.find(from), from.size(),
                    R"(redaction_profiles { name: "strict" mode: REDACTION_MODE_LOCATION_ONLY exif_gps: false xmp_location: true video_location: true })");
    return lenient;
  }
};

TEST_F(ProfileChangeTest, ANodeBoundToTheOldProfilesCopyIsNeverOpenedAgain) {
  const std::string real = ReadFile(B("photos/a.jpg"));
  const std::string path = M("photos/a.jpg");
  ASSERT_NE(LocationAs(kApp, path).find("GPSLatitude"), std::string::npos)
      << "the lenient profile should leave EXIF GPS";
  // The app holds the lenient view open (its node stays bound to that copy).
  HeldOpenAsApp holder(path, [](int) {}, [](int) { return true; });
  ASSERT_TRUE(holder.Ready());
  const std::string file = dir_.Sub("strict.textproto");
  WriteFile(file, kPolicy);
  ASSERT_EQ(system(absl::StrCat(getenv("TEST_SRCDIR"),
                                "/scopedfs/tools/scopedctl --state_dir=",
                                mnt_->state_dir(), " policy apply ", file,
                                " >/dev/null")
                       .c_str()),
            0);
  const std::string seen = AsApp([&] {
    const int fd = open(path.c_str(), O_RDONLY);
    const std::string bytes =
        fd < 0 ? absl::StrCat("open: ", std::strerror(errno)) : PreadAll(fd);
    close(fd);
    return bytes;
  });
  EXPECT_TRUE(seen == Redacted(real)) << "the old profile's copy was reused";
  EXPECT_EQ(LocationAs(kApp, path), "");
  EXPECT_TRUE(holder.Finish());
  EXPECT_GE(Stat("redacted_view_renewals"), 1u);
}

}  // namespace
}  // namespace scopedfs::testing
