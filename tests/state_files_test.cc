// The state dir's files against a real daemon: whatever its umask, every
// file the daemon makes there is 0600 and its own (the audit database and
// SQLite's -wal and -shm included), with --admin_group only the socket
// (0660) and the directory (0710) are the group's; files found at start with
// a wider mode or another owner are fixed (and logged), temp files of a
// crashed run removed, and a symlink in their place refused.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

struct Entry {
  mode_t type;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

std::map<std::string, Entry> List(const std::string& dir) {
  std::map<std::string, Entry> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (lstat((dir + "/" + name).c_str(), &st) != 0) continue;
    out[name] = {st.st_mode & S_IFMT, st.st_mode & 07777, st.st_uid, st.st_gid};
  }
  closedir(d);
  return out;
}

class StateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SFS_SKIP_UNLESS_MOUNTING_WORKS();
    const struct group* gr = getgrnam("nogroup");
    ASSERT_NE(gr, nullptr) << "no group 'nogroup'";
    admin_gid_ = gr->gr_gid;
    ScopedfsMount::DaemonOptions options;
    options.capture_stderr = true;
    options.umask = 0;  // As permissive as it gets.
    auto m = ScopedfsMount::StartWith({"--admin_group=nogroup"}, options);
    ASSERT_TRUE(m.ok()) << m.status();
    mnt_ = std::move(*m);
  }

  // Audited activity as two uids, a stats dump, and everything committed:
  // every file the daemon makes exists afterwards (-wal and -shm too).
  void Activity(const std::string& tag) {
    WriteFile(mnt_->M("root-" + tag), "x");
    ASSERT_EQ(RunAs(User(3001),
                    [&] {
                      const int fd = open(mnt_->M("user-" + tag).c_str(),
                                          O_CREAT | O_WRONLY, 0666);
                      if (fd < 0) return errno;
                      close(fd);
                      return 0;
                    }),
              0);
    for (int i = 0; i < 50; ++i) {
      auto s = mnt_->Stats();
      ASSERT_TRUE(s.ok()) << s.status();
      if ((*s)["audit_queue_depth"] == 0 &&
          (*s)["audit_events_stored"] >= (*s)["audit_events_submitted"] &&
          (*s)["audit_events_stored"] > 0) {
        return;
      }
      usleep(20000);
    }
    FAIL() << "audit events not committed";
  }

  // Every entry of the state dir, exactly.
  void ExpectExactModes(const std::string& when) {
    SCOPED_TRACE(when);
    const std::map<std::string, Entry> entries = List(mnt_->state_dir());
    std::set<std::string> names;
    for (const auto& [name, e] : entries) names.insert(name);
    EXPECT_EQ(names, (std::set<std::string>{"admin.sock", "audit.db", "audit.db-shm",
                                            "audit.db-wal", "lock", "policy.textproto",
                                            "scopedfsd.pid", "stats"}));
    for (const auto& [name, e] : entries) {
      SCOPED_TRACE(name);
      if (name == "admin.sock") {
        EXPECT_EQ(e.type, static_cast<mode_t>(S_IFSOCK));
        EXPECT_EQ(e.mode, 0660u);
        EXPECT_EQ(e.uid, 0u);
        EXPECT_EQ(e.gid, admin_gid_);
        continue;
      }
      EXPECT_EQ(e.type, static_cast<mode_t>(S_IFREG));
      EXPECT_EQ(e.mode, 0600u) << std::oct << e.mode;
      EXPECT_EQ(e.uid, geteuid());
      EXPECT_EQ(e.gid, getegid());
    }
    struct stat dir;
    ASSERT_EQ(stat(mnt_->state_dir().c_str(), &dir), 0);
    EXPECT_EQ(dir.st_mode & 07777, 0710u) << std::oct << (dir.st_mode & 07777);
    EXPECT_EQ(dir.st_gid, admin_gid_);
  }

  gid_t admin_gid_ = 0;
  std::unique_ptr<ScopedfsMount> mnt_;
};

TEST_F(StateFilesTest, EveryFileIsTheDaemonsAloneWhateverTheUmask) {
  Activity("1");
  ExpectExactModes("first start, umask 0");

  // Files an older daemon (or a copy) left readable by the admin group and
  // everyone, with the group's ownership, and a temp file of a crash.
  ASSERT_EQ(mnt_->Stop(SIGTERM), 0);
  const std::string state = mnt_->state_dir();
  const std::vector<std::string> files = {"audit.db", "audit.db-wal", "audit.db-shm", "lock",
                                          "policy.textproto"};
  WriteFile(state + "/audit.db-wal", "");  // SQLite removed it at the clean close.
  WriteFile(state + "/audit.db-shm", "");
  for (const std::string& f : files) {
    const std::string path = state + "/" + f;
    ASSERT_EQ(chmod(path.c_str(), 0644), 0) << f;
    ASSERT_EQ(chown(path.c_str(), 0, admin_gid_), 0) << f;
  }
  WriteFile(state + "/policy.textproto.tmp.4242", "leftover");
  chmod((state + "/policy.textproto.tmp.4242").c_str(), 0644);
  ASSERT_TRUE(mnt_->Restart().ok());
  const std::string log = mnt_->DaemonStderr();
  for (const std::string& f : files) {
    EXPECT_TRUE(absl::StrContains(
        log, absl::StrCat("state dir: ", state, "/", f, " had mode 0644, now 0600")))
        << f << "\n" << log;
    EXPECT_TRUE(absl::StrContains(log, absl::StrCat("state dir: ", state, "/", f,
                                                    " was owned by 0:", admin_gid_)))
        << f;
  }
  EXPECT_TRUE(absl::StrContains(log, "policy.textproto.tmp.4242, left by an earlier run"));
  Activity("2");
  ExpectExactModes("restart over 0644 files");

  // A symlink where the daemon keeps a file: refused, not followed.
  ASSERT_EQ(mnt_->Stop(SIGTERM), 0);
  TempDir elsewhere;
  const std::string target = elsewhere.Sub("target");
  WriteFile(target, "not the daemon's");
  chmod(target.c_str(), 0644);
  ASSERT_EQ(unlink((state + "/policy.textproto").c_str()), 0);
  ASSERT_EQ(symlink(target.c_str(), (state + "/policy.textproto").c_str()), 0);
  EXPECT_FALSE(mnt_->Restart().ok());
  EXPECT_TRUE(absl::StrContains(mnt_->DaemonStderr(), "policy.textproto' is a symlink"));
  struct stat st;
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);  // Untouched.
  EXPECT_EQ(ReadFile(target), "not the daemon's");
}

}  // namespace
}  // namespace scopedfs::testing
