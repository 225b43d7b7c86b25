#include "daemon/command_line.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "daemon/state_dir.h"
#include "gtest/gtest.h"

namespace scopedfs {
namespace {

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (std::string& a : args) out.push_back(a.data());
  return out;
}

TEST(SplitFuseStyleArgs, PullsOutMountOptionsAndShortFlags) {
  std::vector<std::string> args = {"scopedfsd", "-o", "ro,noatime", "-f",
                                   "--threads=3", "-ofsname=x", "-d", "src", "mnt"};
  auto argv = Argv(args);
  auto split = SplitFuseStyleArgs(argv.size(), argv.data());
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->mount_options,
            (std::vector<std::string>{"ro", "noatime", "fsname=x"}));
  EXPECT_TRUE(split->foreground);
  EXPECT_TRUE(split->debug);
  ASSERT_EQ(split->rest.size(), 4u);
  EXPECT_STREQ(split->rest[1], "--threads=3");
  EXPECT_STREQ(split->rest[3], "mnt");
}

TEST(SplitFuseStyleArgs, DashOWithoutValueIsAnError) {
  std::vector<std::string> args = {"scopedfsd", "src", "mnt", "-o"};
  auto argv = Argv(args);
  EXPECT_FALSE(SplitFuseStyleArgs(argv.size(), argv.data()).ok());
}

TEST(EscapeMountOptionValue, EscapesCommasAndBackslashes) {
  EXPECT_EQ(EscapeMountOptionValue("/a,b\\c"), "/a\\,b\\\\c");
}

class ValidateMountPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sfs-cl.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(mkdir((dir_ + "/src").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/src/inner").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/mnt").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((dir_ + "/full").c_str(), 0755), 0);
    std::ofstream(dir_ + "/full/x") << "x";
    std::ofstream(dir_ + "/file") << "x";
  }
  void TearDown() override { system(("rm -rf " + dir_).c_str()); }

  absl::Status Check(const std::string& src, const std::string& mnt) {
    std::string s, m;
    return ValidateMountPaths(dir_ + "/" + src, dir_ + "/" + mnt, &s, &m);
  }

  std::string dir_;
};

TEST_F(ValidateMountPathsTest, AcceptsSeparateDirsAndCanonicalizes) {
  std::string s, m;
  ASSERT_TRUE(ValidateMountPaths(dir_ + "/src/../src", dir_ + "/mnt/", &s, &m).ok());
  EXPECT_EQ(s, dir_ + "/src");
  EXPECT_EQ(m, dir_ + "/mnt");
}

TEST_F(ValidateMountPathsTest, RejectsMissingSource) {
  auto st = Check("nope", "mnt");
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(st.message().find("No such file"), std::string::npos) << st;
}

TEST_F(ValidateMountPathsTest, RejectsSourceThatIsAFile) {
  EXPECT_NE(Check("file", "mnt").message().find("Not a directory"),
            std::string::npos);
}

TEST_F(ValidateMountPathsTest, RejectsMountpointInsideSource) {
  EXPECT_NE(Check("src", "src/inner").message().find("inside the source"),
            std::string::npos);
  EXPECT_NE(Check("src", "src").message().find("inside the source"),
            std::string::npos);
}

TEST_F(ValidateMountPathsTest, RejectsSourceInsideMountpoint) {
  EXPECT_NE(Check("src/inner", "src").message().find("inside the mountpoint"),
            std::string::npos);
}

TEST_F(ValidateMountPathsTest, RejectsNonEmptyMountpoint) {
  EXPECT_NE(Check("src", "full").message().find("not empty"), std::string::npos);
}

TEST_F(ValidateMountPathsTest, ProbeSeesAPlainDirAsReady) {
  EXPECT_EQ(ProbeMountpoint(dir_ + "/mnt"), MountpointState::kReady);
  EXPECT_EQ(ProbeMountpoint("/proc"), MountpointState::kLiveMount);
}

TEST(StateDir, ReplacesFilesAtomicallyWithPrivateModes) {
  char tmpl[] = "/tmp/sfs-sd.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/state";
  auto state = StateDir::Open(path);
  ASSERT_TRUE(state.ok()) << state.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_TRUE(state->ReplaceFile("f", "one", true).ok());
  ASSERT_TRUE(state->ReplaceFile("f", "two", true).ok());
  std::ifstream in(path + "/f");
  std::string got;
  in >> got;
  EXPECT_EQ(got, "two");
  ASSERT_EQ(stat((path + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  system((std::string("rm -rf ") + tmpl).c_str());
}

TEST(StateDir, IsLockedAgainstASecondDaemon) {
  char tmpl[] = "/tmp/sfs-sd.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/state";
  ASSERT_TRUE(StateDir::Open(path).ok());
  // The lock is per open file description: a second Open in this process
  // stands for a second daemon.
  auto second = StateDir::Open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another scopedfsd"),
            std::string::npos);
  system((std::string("rm -rf ") + tmpl).c_str());
}

TEST(StateDir, RefusesAFileAsStateDir) {
  EXPECT_FALSE(StateDir::Open("/etc/hostname").ok());
  EXPECT_FALSE(StateDir::Open("").ok());
}

}  // namespace
}  // namespace scopedfs
