// The daemon's life: clean shutdown on signals, stale mounts from a crashed
// run, and one-line errors with exit status 2 for bad arguments.
#include <errno.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

struct RunResult {
  int status;          // Exit status, or -signal.
  std::string output;  // stdout + stderr.
};

// Runs scopedfsd to completion (for argument errors and --help).
RunResult RunDaemon(const std::vector<std::string>& args) {
  std::string cmd = DaemonBinary();
  for (const std::string& a : args) absl::StrAppend(&cmd, " '", a, "'");
  absl::StrAppend(&cmd, " 2>&1");
  const ShellResult r = RunShell(cmd);
  return RunResult{r.status, r.output};
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { SFS_SKIP_UNLESS_MOUNTING_WORKS(); }
};

TEST_F(LifecycleTest, SigtermUnmountsAndExitsZero) {
  auto m = ScopedfsMount::Start();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(IsFuseMounted((*m)->mount()));
  EXPECT_EQ((*m)->Stop(SIGTERM), 0);
  EXPECT_FALSE(IsFuseMounted((*m)->mount()));
}

TEST_F(LifecycleTest, SigintUnmountsAndExitsZero) {
  auto m = ScopedfsMount::Start();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->Stop(SIGINT), 0);
  EXPECT_FALSE(IsFuseMounted((*m)->mount()));
}

TEST_F(LifecycleTest, MountShowsAsPlainFuseWithSourceAsFsname) {
  auto m = ScopedfsMount::Start();
  ASSERT_TRUE(m.ok()) << m.status();
  std::ifstream in("/proc/mounts");
  std::string dev, dir, type, opts;
  bool found = false;
  while (in >> dev >> dir >> type >> opts) {
    std::string rest;
    std::getline(in, rest);
    if (dir != (*m)->mount()) continue;
    found = true;
    EXPECT_EQ(type, "fuse");
    EXPECT_EQ(dev, (*m)->backing());
    EXPECT_NE(opts.find("allow_other"), std::string::npos) << opts;
    EXPECT_NE(opts.find("default_permissions"), std::string::npos) << opts;
  }
  EXPECT_TRUE(found);
}

TEST_F(LifecycleTest, StaleMountOfACrashedRunIsCleanedAtStart) {
  TempDir dir;
  const std::string src = dir.Sub("src"), mnt = dir.Sub("mnt");
  mkdir(src.c_str(), 0755);
  mkdir(mnt.c_str(), 0755);
  std::ofstream(src + "/hello") << "hi";
  const std::string state = "--state_dir=" + dir.Sub("state");
  auto start = [&]() -> pid_t {
    const pid_t pid = fork();
    if (pid == 0) {
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      execl(DaemonBinary().c_str(), "scopedfsd", "--foreground", state.c_str(),
            src.c_str(), mnt.c_str(), nullptr);
      _exit(127);
    }
    // Live means answering: a stale mount is "mounted" but fails with ENOTCONN.
    struct statfs sf;
    for (int i = 0; i < 1000; ++i) {
      if (statfs(mnt.c_str(), &sf) == 0 && sf.f_type == 0x65735546) break;
      usleep(5000);
    }
    return pid;
  };
  pid_t pid = start();
  ASSERT_TRUE(IsFuseMounted(mnt));
  kill(pid, SIGKILL);  // A crash: the kernel keeps a dead mount.
  waitpid(pid, nullptr, 0);
  struct stat st;
  ASSERT_EQ(stat(mnt.c_str(), &st), -1);
  ASSERT_EQ(errno, ENOTCONN);

  pid = start();
  ASSERT_TRUE(IsFuseMounted(mnt));
  EXPECT_EQ(ReadFile(mnt + "/hello"), "hi");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (IsFuseMounted(mnt)) umount2(mnt.c_str(), MNT_DETACH);
  EXPECT_EQ(stat(mnt.c_str(), &st), 0) << "mountpoint usable again";
}

class BadArgumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mkdir(dir_.Sub("src").c_str(), 0755);
    mkdir(dir_.Sub("src/inner").c_str(), 0755);
    mkdir(dir_.Sub("mnt").c_str(), 0755);
    mkdir(dir_.Sub("full").c_str(), 0755);
    std::ofstream(dir_.Sub("full/x")) << "x";
  }
  // Exit status 2 and exactly one line naming the problem.
  void ExpectUsageError(const std::vector<std::string>& args,
                        const std::string& needle) {
    std::vector<std::string> all = {"--state_dir=" + dir_.Sub("state")};
    all.insert(all.end(), args.begin(), args.end());
    const RunResult r = RunDaemon(all);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_EQ(r.output.rfind("scopedfsd: error: ", 0), 0u) << r.output;
  }
  TempDir dir_;
};

TEST_F(BadArgumentsTest, MissingSource) {
  ExpectUsageError({dir_.Sub("nope"), dir_.Sub("mnt")}, "No such file");
}
TEST_F(BadArgumentsTest, MountpointInsideSource) {
  ExpectUsageError({dir_.Sub("src"), dir_.Sub("src/inner")}, "inside the source");
}
TEST_F(BadArgumentsTest, SourceInsideMountpoint) {
  ExpectUsageError({dir_.Sub("src/inner"), dir_.Sub("src")}, "inside the mountpoint");
}
TEST_F(BadArgumentsTest, NonEmptyMountpoint) {
  ExpectUsageError({dir_.Sub("src"), dir_.Sub("full")}, "not empty");
}
TEST_F(BadArgumentsTest, MissingMountpointArgument) {
  ExpectUsageError({dir_.Sub("src")}, "expected SOURCE and MOUNTPOINT");
}
TEST_F(BadArgumentsTest, BadThreadCount) {
  ExpectUsageError({"--threads=0", dir_.Sub("src"), dir_.Sub("mnt")}, "--threads");
}

TEST(Help, DocumentsTheFlags) {
  const RunResult r = RunDaemon({"--help"});
  for (const char* flag : {"--state_dir", "--foreground", "--passthrough",
                           "--threads", "--debug", "SOURCE MOUNTPOINT"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag << "\n" << r.output;
  }
}

}  // namespace
}  // namespace scopedfs::testing
