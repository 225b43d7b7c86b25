// scopedctl against a real scopedfsd: the admin workflow end to end, and who
// may use the admin socket (SO_PEERCRED: root and --admin_uids only).
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kAdminUid = 1234;
constexpr uid_t kNobody = 65534;  // In group nogroup (65534), like kAdminUid.

// The runfiles tree lives under root's 0700 home: other uids run a copy.
std::string CtlBinary() {
  static const std::string copy = [] {
    const char* srcdir = getenv("TEST_SRCDIR");
    const std::string built =
        std::string(srcdir ? srcdir : ".") + "/scopedfs/tools/scopedctl";
    static TempDir dir;
    const std::string to = dir.Sub("scopedctl");
    WriteFile(to, ReadFile(built));
    chmod(to.c_str(), 0755);
    return to;
  }();
  return copy;
}

struct CtlResult {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs scopedctl with `args` as `who` (fork, switch identity, exec).
CtlResult RunCtl(const Identity& who, const std::vector<std::string>& args) {
  const std::string binary = CtlBinary();  // Copied as root, before fork.
  int out_pipe[2], err_pipe[2];
  pipe(out_pipe);
  pipe(err_pipe);
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    if (!BecomeIdentity(who)) _exit(125);
    std::vector<std::string> argv_store = {binary};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(126);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  CtlResult r;
  auto drain = [](int fd, std::string* into) {
    std::array<char, 4096> buf;
    ssize_t n;
    while ((n = read(fd, buf.data(), buf.size())) > 0) into->append(buf.data(), n);
    close(fd);
  };
  drain(out_pipe[0], &r.out);
  drain(err_pipe[0], &r.err);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class AdminE2eTest : public MountTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    return {absl::StrCat("--admin_uids=", kAdminUid), "--admin_group=nogroup"};
  }
  CtlResult Ctl(const std::vector<std::string>& args,
                const Identity& who = Identity{0, 0, {}}) {
    std::vector<std::string> all = {"--state_dir=" + mnt_->state_dir()};
    all.insert(all.end(), args.begin(), args.end());
    return RunCtl(who, all);
  }
  std::string WritePolicy(const std::string& name, const std::string& text) {
    const std::string path = mnt_->Scratch(name);
    WriteFile(path, text);
    chmod(path.c_str(), 0644);
    return path;
  }
};

TEST_F(AdminE2eTest, ValidateReportsFieldPathsAndExitsOne) {
  const std::string bad = WritePolicy(
      "bad.textproto",
      "rules { id: \"a\" paths: \"DCIM/[x\" action: DENY }\n"
      "rules { id: \"a\" action: ALLOW_REDACTED }\n"
      "default_action: ALLOW\n");
  const CtlResult r = Ctl({"policy", "validate", bad});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("rules[0].paths[0]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rules[1]"), std::string::npos) << r.out;
  const std::string good = WritePolicy("good.textproto", "default_action: ALLOW\n");
  const CtlResult ok = Ctl({"policy", "validate", good});
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("valid"), std::string::npos);
}

TEST_F(AdminE2eTest, ApplyWithStaleGenerationFailsAndChangesNothing) {
  const std::string next = WritePolicy(
      "next.textproto",
      "rules { id: \"no-docs\" paths: \"docs/\" action: HIDE }\n"
      "default_action: ALLOW\n");
  const CtlResult stale = Ctl({"policy", "apply", next, "--expect-generation=42"});
  EXPECT_EQ(stale.status, 1);
  EXPECT_NE(stale.err.find("generation"), std::string::npos) << stale.err;
  EXPECT_EQ(std::count(stale.err.begin(), stale.err.end(), '\n'), 1) << stale.err;
  EXPECT_NE(Ctl({"policy", "get"}).out.find("generation 1"), std::string::npos);
  // The right generation applies, and the diff then shows nothing.
  const CtlResult good = Ctl({"policy", "apply", next, "--expect-generation=1"});
  EXPECT_EQ(good.status, 0) << good.err;
  EXPECT_NE(good.out.find("generation 2"), std::string::npos) << good.out;
  EXPECT_EQ(Ctl({"policy", "diff", next}).status, 0);
  const CtlResult explain = Ctl({"explain", "--uid=1000", "--path=docs/a.txt", "--op=read"});
  EXPECT_EQ(explain.status, 0) << explain.err;
  EXPECT_NE(explain.out.find("HIDE"), std::string::npos) << explain.out;
  EXPECT_NE(explain.out.find("no-docs"), std::string::npos) << explain.out;
}

TEST_F(AdminE2eTest, OnlyRootAndAdminUidsMayAdminister) {
  // A member of the socket's group who is not an admin: PERMISSION_DENIED.
  const CtlResult denied = Ctl({"status"}, Identity{kNobody, kNobody, {}});
  EXPECT_EQ(denied.status, 1);
  EXPECT_NE(denied.err.find("permission denied"), std::string::npos) << denied.err;
  // A configured admin uid.
  const CtlResult admin = Ctl({"status"}, Identity{kAdminUid, kNobody, {}});
  EXPECT_EQ(admin.status, 0) << admin.err;
  EXPECT_NE(admin.out.find("serving"), std::string::npos) << admin.out;
  // Someone outside the socket's group cannot even connect.
  const CtlResult outsider = Ctl({"status"}, Identity{kAdminUid, 4321, {}});
  EXPECT_EQ(outsider.status, 1);
  EXPECT_NE(outsider.err.find("cannot reach"), std::string::npos) << outsider.err;
  struct stat st;
  ASSERT_EQ(stat(mnt_->AdminSocket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(AdminE2eTest, StatusShowsCountersAndJson) {
  WriteFile(M("f"), "x");
  const CtlResult r = Ctl({"status", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"opens_passthrough\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"serving\":true"), std::string::npos) << r.out;
}

class AdminSocketModeTest : public MountTest {};

TEST_F(AdminSocketModeTest, SocketIsRootOnlyByDefault) {
  struct stat st;
  ASSERT_EQ(stat(mnt_->AdminSocket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);
  const CtlResult r = RunCtl(Identity{kAdminUid, kAdminUid, {}},
                             {"--state_dir=" + mnt_->state_dir(), "status"});
  EXPECT_EQ(r.status, 1);
}

}  // namespace
}  // namespace scopedfs::testing
