// --metrics_textfile: the daemon keeps node_exporter's textfile current,
// replaces it atomically (never following a planted symlink, never leaving
// a temp file the collector would read), and says scopedfs_up 0 when it
// stops.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/file_util.h"
#include "tests/mount_fixture.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> Names(const std::string& dir) { return ListNames(dir, true); }

// The value of the sample line that starts with `name ` (-1: none).
double Sample(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, name + " ")) {
      double v;
      if (absl::SimpleAtod(line, &v)) return v;
    }
  }
  return -1;
}

TEST(MetricsTextfileTest, KeptCurrentReplacedAtomicallyAndDownAtStop) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  TempDir node;  // node_exporter's textfile directory
  const std::string prom = node.Sub("scopedfs.prom");
  // A symlink planted where the file goes must be replaced, not followed.
  const std::string victim = node.Sub("victim");
  { std::ofstream(victim) << "precious\n"; }
  ASSERT_EQ(symlink(victim.c_str(), prom.c_str()), 0);

  auto m = ScopedfsMount::Start({"--metrics_textfile=" + prom, "--metrics_interval=1s"});
  ASSERT_TRUE(m.ok()) << m.status();
  auto& mnt = *m;
  // Written before the mount serves, as a regular file readable by the
  // collector's own user.
  struct stat st;
  ASSERT_EQ(lstat(prom.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(Slurp(victim), "precious\n");
  std::string text = Slurp(prom);
  EXPECT_EQ(Sample(text, "scopedfs_up"), 1) << text;
  EXPECT_NE(text.find("# TYPE scopedfs_open_latency_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("scopedfs_rule_hits_total{rule=\"(default)\",outcome=\"allowed\"}"),
            std::string::npos)
      << text;
  const double opens_before = Sample(text, "scopedfs_open_latency_seconds_count");
  ASSERT_GE(opens_before, 0) << text;

  // Activity shows up within a couple of intervals.
  { std::ofstream(mnt->M("f.txt")) << "x"; }
  for (int i = 0; i < 20; ++i) {
    const int fd = open(mnt->M("f.txt").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  double opens_after = opens_before;
  for (int i = 0; i < 40 && opens_after < opens_before + 20; ++i) {
    usleep(100 * 1000);
    opens_after = Sample(Slurp(prom), "scopedfs_open_latency_seconds_count");
  }
  EXPECT_GE(opens_after, opens_before + 20);
  // Only the file: no temp file is left for the collector to read.
  EXPECT_EQ(Names(node.path()), (std::set<std::string>{"scopedfs.prom", "victim"}));

  // A clean stop writes it a last time: down.
  EXPECT_EQ(mnt->Stop(SIGTERM), 0);
  text = Slurp(prom);
  EXPECT_EQ(Sample(text, "scopedfs_up"), 0) << text;
  EXPECT_EQ(Names(node.path()), (std::set<std::string>{"scopedfs.prom", "victim"}));
  EXPECT_EQ(Slurp(victim), "precious\n");
}

// A daemon out of descriptors says so in a counter an alert can watch
// (README, "Metrics and alerts"), with the limit beside it.
TEST(MetricsTextfileTest, DescriptorExhaustionIsCounted) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  TempDir node;
  const std::string prom = node.Sub("scopedfs.prom");
  auto m = ScopedfsMount::Start({"--metrics_textfile=" + prom, "--metrics_interval=1s"});
  ASSERT_TRUE(m.ok()) << m.status();
  auto& mnt = *m;
  // The daemon's limit lowered to 128 descriptors from outside (lowering
  // another process's limit needs no privilege beyond being its uid).
  const struct rlimit low = {128, 128};
  ASSERT_EQ(prlimit(mnt->pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);
  usleep(1500 * 1000);  // one rewrite
  EXPECT_EQ(Sample(Slurp(prom), "scopedfs_fd_limit"), 128) << Slurp(prom);
  std::vector<int> held;
  int failed = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string name = mnt->M("f" + std::to_string(i));
    const int fd = open(name.c_str(), O_CREAT | O_RDWR, 0644);
    if (fd >= 0) {
      held.push_back(fd);
    } else {
      EXPECT_TRUE(errno == EMFILE || errno == ENFILE) << std::strerror(errno);
      ++failed;
    }
  }
  EXPECT_GT(failed, 0) << "the daemon never ran out of descriptors";
  double counted = 0;
  for (int i = 0; i < 40 && counted <= 0; ++i) {
    usleep(100 * 1000);
    counted = Sample(Slurp(prom), "scopedfs_descriptor_exhaustion_errors_total");
  }
  EXPECT_GE(counted, 1);
  for (int fd : held) close(fd);
}

TEST(MetricsTextfileTest, BadPathsRefuseToStart) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  TempDir node;
  EXPECT_FALSE(ScopedfsMount::Start({"--metrics_textfile=relative.prom"}).ok());
  EXPECT_FALSE(ScopedfsMount::Start({"--metrics_textfile=" + node.Sub("no/such/dir.prom")}).ok());
  EXPECT_FALSE(ScopedfsMount::Start(
                   {"--metrics_textfile=" + node.Sub("x.prom"), "--metrics_interval=0s"})
                   .ok());
  EXPECT_EQ(Names(node.path()), std::set<std::string>{});
}

}  // namespace
}  // namespace scopedfs::testing
