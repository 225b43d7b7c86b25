// Access-time mount options, differentially: for each of -o noatime,
// relatime, strictatime, nodiratime (and none), the same reads run on a
// bind mount of a native directory remounted with that option and through a
// scopedfs mounted with it (its SOURCE a directory of the same file system),
// in both I/O modes. The transcripts of how each read moved the file's and
// the directory's access times must be equal, and the native one must show
// what the option promises (so neither side can pass by doing nothing).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

struct AtimeCase {
  const char* option;     // -o value, "" for none.
  unsigned long flags;    // The native remount's MS_* flags.
  const char* read_again; // The second read's expected change (native).
  const char* listing;    // The directory listing's (native).
};

const AtimeCase kCases[] = {
    {"", 0, nullptr, nullptr},
    {"noatime", MS_NOATIME, "same", "same"},
    {"relatime", MS_RELATIME, "same", nullptr},
    {"strictatime", MS_STRICTATIME, "advanced", "advanced"},
    {"nodiratime", MS_NODIRATIME, nullptr, "same"},
    {"strictatime,nodiratime", MS_STRICTATIME | MS_NODIRATIME, "advanced", "same"},
};

timespec Atime(const std::string& path) {
  struct stat st = {};
  stat(path.c_str(), &st);
  return st.st_atim;
}

std::string Rel(const timespec& a, const timespec& b) {
  if (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec)) {
    return "advanced";
  }
  return b.tv_sec == a.tv_sec && b.tv_nsec == a.tv_nsec ? "same" : "went back";
}

void ReadAll(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[64];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
  close(fd);
}

void List(const std::string& path) {
  if (DIR* d = opendir(path.c_str())) {
    while (readdir(d) != nullptr) {
    }
    closedir(d);
  }
}

// Makes `base`/f (atime an hour ago, mtime two) and `base`/d, then reads
// them through `view` (the same tree as `base`, through the mount under
// test) and notes how the access times moved. Times are set on `base`, so
// the mount under test never sees a utimensat.
std::string Transcript(const std::string& base, const std::string& view) {
  std::string out;
  mkdir((base + "/d").c_str(), 0755);
  WriteFile(base + "/d/x", "x");
  WriteFile(base + "/f", "data");
  const time_t now = time(nullptr);
  const timespec times[2] = {{now - 3600, 0}, {now - 7200, 0}};
  utimensat(AT_FDCWD, (base + "/f").c_str(), times, 0);
  utimensat(AT_FDCWD, (base + "/d").c_str(), times, 0);
  // The clock the kernel stamps atimes with is coarse: a moment between
  // reads so a second stamp can differ.
  const auto tick = [] { std::this_thread::sleep_for(std::chrono::milliseconds(30)); };
  // Accesses `what` twice, a moment apart, noting how each moved its atime.
  const auto twice = [&](const std::string& what, const char* first,
                         const char* second, void (*access)(const std::string&)) {
    const timespec a0 = Atime(view + what);
    access(view + what);
    const timespec a1 = Atime(view + what);
    absl::StrAppend(&out, first, ": ", Rel(a0, a1), "\n");
    tick();
    access(view + what);
    absl::StrAppend(&out, second, ": ", Rel(a1, Atime(view + what)), "\n");
    return a0;
  };
  const timespec t0 = twice("/f", "first read", "second read", ReadAll);
  twice("/d", "first listing", "second listing", List);
  // What the backing file system recorded, read without the mount's help.
  absl::StrAppend(&out, "file's atime on the file system: ",
                  Rel(t0, Atime(base + "/f")), "\n");
  return out;
}

class AtimeTest : public MountTest,
                  public ::testing::WithParamInterface<std::tuple<AtimeCase, bool>> {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    std::vector<std::string> flags = {
        absl::StrCat("--passthrough=", std::get<1>(GetParam()) ? "true" : "false")};
    if (*std::get<0>(GetParam()).option != '\0') {
      flags.push_back("-o");
      flags.push_back(std::get<0>(GetParam()).option);
    }
    return flags;
  }
  void TearDown() override {
    if (!bind_.empty()) umount2(bind_.c_str(), MNT_DETACH);
    MountTest::TearDown();
  }
  std::string bind_;
};

TEST_P(AtimeTest, ReadsMoveAccessTimesAsNatively) {
  const AtimeCase& c = std::get<0>(GetParam());
  TempDir native;
  const std::string src = native.Sub("src"), view = native.Sub("view");
  ASSERT_EQ(mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(view.c_str(), 0755), 0);
  ASSERT_EQ(mount(src.c_str(), view.c_str(), nullptr, MS_BIND, nullptr), 0)
      << strerror(errno);
  bind_ = view;
  if (c.flags != 0) {
    ASSERT_EQ(mount(nullptr, view.c_str(), nullptr, MS_REMOUNT | MS_BIND | c.flags,
                    nullptr),
              0)
        << strerror(errno);
  }
  const std::string want = Transcript(src, view);
  const std::string got = Transcript(B(""), M(""));
  EXPECT_EQ(want, got) << "native (first) and mount (second) differ, -o "
                       << c.option;
  if (c.read_again != nullptr) {
    EXPECT_NE(want.find(absl::StrCat("second read: ", c.read_again)), std::string::npos)
        << want;
  }
  if (c.listing != nullptr) {
    EXPECT_NE(want.find(absl::StrCat("second listing: ", c.listing)), std::string::npos)
        << want;
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::tuple<AtimeCase, bool>>& info) {
  std::string name = *std::get<0>(info.param).option ? std::get<0>(info.param).option
                                                      : "none";
  for (char& ch : name) {
    if (ch == ',') ch = '_';
  }
  return absl::StrCat(name, std::get<1>(info.param) ? "_passthrough" : "_daemon");
}

INSTANTIATE_TEST_SUITE_P(Options, AtimeTest,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Bool()),
                         CaseName);

}  // namespace
}  // namespace scopedfs::testing
