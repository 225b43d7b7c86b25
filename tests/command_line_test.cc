#include "daemon/command_line.h"
#include "daemon/source_tree.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/flag_check.h"
#include "daemon/mount_options.h"
#include "daemon/state_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, cl_threads, 8, "test flag");
ABSL_FLAG(bool, cl_switch, true, "test flag");
ABSL_FLAG(absl::Duration, cl_age, absl::Hours(1), "test flag");
ABSL_FLAG(std::string, cl_name, "", "test flag");

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

TEST(SplitFuseStyleArgs, EscapedCommasStayInTheirOption) {
  std::vector<std::string> args = {"scopedfsd", "-o", "fsname=a\\,b,ro,,noatime"};
  auto argv = Argv(args);
  auto split = SplitFuseStyleArgs(argv.size(), argv.data());
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->mount_options,
            (std::vector<std::string>{"fsname=a\\,b", "ro", "noatime"}));
}

// The flag checker's message for `args` (after the program name), or "ok".
std::string FlagError(std::vector<std::string> args) {
  args.insert(args.begin(), "scopedfsd");
  auto argv = Argv(args);
  const absl::Status st = CheckAndSetFlags(argv);
  return st.ok() ? "ok" : std::string(st.message());
}

TEST(CheckAndSetFlags, SetsGoodValuesLikeAbslDoes) {
  EXPECT_EQ(FlagError({"--cl_threads=3", "--nocl_switch", "src", "mnt"}), "ok");
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_threads), 3);
  EXPECT_FALSE(absl::GetFlag(FLAGS_cl_switch));
  EXPECT_EQ(FlagError({"-cl_threads", "5", "--cl_switch", "--cl_age=90s", "--cl_name="}), "ok");
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_threads), 5);
  EXPECT_TRUE(absl::GetFlag(FLAGS_cl_switch));
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_age), absl::Seconds(90));
  EXPECT_EQ(FlagError({"--cl_threads", "-2"}), "ok");  // A negative value, not a flag.
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_threads), -2);
  // After "--" everything is positional.
  EXPECT_EQ(FlagError({"--", "--bogus", "-x"}), "ok");
  // absl's usage flags are absl's to act on.
  EXPECT_EQ(FlagError({"--help"}), "ok");
  EXPECT_EQ(FlagError({"--helpfull", "--version", "--help=cl_"}), "ok");
}

TEST(CheckAndSetFlags, EveryBadFlagIsOneLineNamingIt) {
  EXPECT_EQ(FlagError({"--bogus"}), "unknown flag --bogus (see --help)");
  EXPECT_EQ(FlagError({"--bogus=1", "src"}), "unknown flag --bogus (see --help)");
  EXPECT_EQ(FlagError({"-x"}), "unknown flag -x (see --help)");
  EXPECT_EQ(FlagError({"--nocl_threads"}), "unknown flag --nocl_threads (see --help)");
  EXPECT_EQ(FlagError({"--cl_threads=abc"}),
            "--cl_threads: invalid value 'abc' (expected an integer)");
  EXPECT_EQ(FlagError({"--cl_threads="}), "--cl_threads: invalid value '' (expected an integer)");
  EXPECT_EQ(FlagError({"--cl_threads"}), "--cl_threads needs a value");
  // The next argument is another flag, not the forgotten value.
  EXPECT_EQ(FlagError({"--cl_name", "--cl_switch"}), "--cl_name needs a value");
  EXPECT_EQ(FlagError({"--cl_switch=maybe"}),
            "--cl_switch: invalid value 'maybe' (expected true or false)");
  EXPECT_EQ(FlagError({"--nocl_switch=1"}),
            "--nocl_switch takes no value (or use --cl_switch=true|false)");
  EXPECT_THAT(FlagError({"--cl_age=soon"}),
              ::testing::StartsWith("--cl_age: invalid value 'soon' (expected a duration"));
  EXPECT_EQ(FlagError({"--flagfile=/etc/x"}),
            "--flagfile is not supported: put flags in --config=FILE");
  EXPECT_EQ(FlagError({"--undefok=x"}), "--undefok is not supported: put flags in --config=FILE");
  // The first problem is the one reported.
  EXPECT_EQ(FlagError({"--cl_threads=4", "--bogus", "--cl_threads=x"}),
            "unknown flag --bogus (see --help)");
}

TEST(CheckMountOption, TakesWhatLibfuseTakes) {
  for (const char* option :
       {"ro", "rw", "noatime", "nodiratime", "nostrictatime", "nosuid", "nodev", "noexec",
        "suid", "dev", "exec", "sync", "async", "dirsync", "fsname=a\\,b", "subtype=x",
        "allow_other", "default_permissions",
        "auto_unmount", "debug", "context=system_u:object_r:tmp_t:s0", "symfollow",
        "nosymfollow", "x-systemd.automount", "user=alice"}) {
    EXPECT_TRUE(CheckMountOption(option).ok()) << option;
  }
}

TEST(CheckMountOption, SaysWhyAnOptionIsRefused) {
  auto message = [](const std::string& option) {
    const absl::Status st = CheckMountOption(option);
    return st.ok() ? std::string("ok") : std::string(st.message());
  };
  EXPECT_THAT(message("bogus_opt=1"),
              ::testing::StartsWith("unknown mount option (scopedfsd takes fsname=, "));
  for (const char* option : {"lazytime", "nonempty"}) {
    EXPECT_THAT(message(option), ::testing::StartsWith("unknown mount option")) << option;
  }
  // libfuse 3.18 refuses these (its table has only the "no" forms); the
  // daemon honours them itself (daemon/source_tree.h).
  for (const char* option : {"relatime", "strictatime", "atime", "norelatime", "diratime"}) {
    EXPECT_EQ(message(option), "ok") << option;
  }
  EXPECT_EQ(message("relatime=1"), "relatime takes no value");
  EXPECT_EQ(message("ro=1"), "ro takes no value");
  EXPECT_EQ(message("fsname="), "fsname needs a value (fsname=...)");
  EXPECT_EQ(message("subtype"), "subtype needs a value (subtype=...)");
  EXPECT_EQ(message("allow_root"),
            "not supported: the mount serves every uid (it is always allow_other)");
  // libfuse takes these, and the mount (or its first request) then fails.
  EXPECT_EQ(message("max_read=131072"), "not supported: scopedfsd does not negotiate a read size");
  for (const char* option : {"blkdev", "blksize=4096"}) {
    EXPECT_EQ(message(option),
              "not supported: it is for block device (fuseblk) mounts, and SOURCE is a "
              "directory")
        << option;
  }
}

TEST(AtimeOptions, TheLastOfEachKindWinsAndLibfuseNeverSeesThem) {
  using Mode = AtimeOptions::Mode;
  EXPECT_FALSE(AtimeFromMountOptions({"ro", "nosuid"}).any());
  EXPECT_EQ(AtimeFromMountOptions({"noatime"}).mode, Mode::kNoatime);
  EXPECT_EQ(AtimeFromMountOptions({"noatime", "strictatime"}).mode, Mode::kStrictatime);
  EXPECT_EQ(AtimeFromMountOptions({"strictatime", "relatime"}).mode, Mode::kRelatime);
  // mount(8): atime and nostrictatime are the kernel default (relatime);
  // norelatime is strictatime.
  EXPECT_EQ(AtimeFromMountOptions({"atime"}).mode, Mode::kRelatime);
  EXPECT_EQ(AtimeFromMountOptions({"nostrictatime"}).mode, Mode::kRelatime);
  EXPECT_EQ(AtimeFromMountOptions({"norelatime"}).mode, Mode::kStrictatime);
  const AtimeOptions dirs = AtimeFromMountOptions({"nodiratime", "diratime", "nodiratime"});
  EXPECT_EQ(dirs.mode, Mode::kSource);
  EXPECT_EQ(dirs.nodiratime, true);
  EXPECT_EQ(dirs.Describe(), "nodiratime");
  EXPECT_EQ(AtimeFromMountOptions({"relatime", "diratime"}).Describe(), "relatime,diratime");
  EXPECT_EQ(OptionsForLibfuse({"ro", "relatime", "noatime", "strictatime", "atime",
                               "norelatime", "diratime", "nodiratime", "fsname=x"}),
            (std::vector<std::string>{"ro", "noatime", "nodiratime", "fsname=x"}));
}

TEST(CheckMountOptions, NamesTheOptionAndWhereItCameFrom) {
  EXPECT_TRUE(CheckMountOptions({"ro", "noatime"}, "-o ").ok());
  EXPECT_EQ(CheckMountOptions({"ro", "bogus=1", "ro=2"}, "-o ").message(),
            absl::StrCat("-o bogus=1: ", CheckMountOption("bogus=1").message()));
  EXPECT_EQ(CheckMountOptions({"ro=2"}, "config file 'c': mount_options ").message(),
            "config file 'c': mount_options ro=2: ro takes no value");
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
