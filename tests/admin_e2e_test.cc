// scopedctl against a real scopedfsd: the admin workflow end to end, and who
// may use the admin socket (SO_PEERCRED: root and --admin_uids only).
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
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

// Ownership moves only by an explicit admin action: `scopedctl owner
// get|set|clear`, against a policy where only owners may write.
constexpr uid_t kAlpha = 2001;
constexpr uid_t kBeta = 2002;

class OwnerAdminTest : public AdminE2eTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    static TempDir dir;
    const std::string policy = dir.Sub("owner.textproto");
    WriteFile(policy, R"pb(
      apps { name: "alpha" uids: 2001 }
      apps { name: "beta" uids: 2002 }
      rules { id: "owner" owner: CALLER action: ALLOW }
      rules { id: "look" operations: [LOOKUP, READ, CREATE] action: ALLOW }
      default_action: DENY
    )pb");
    std::vector<std::string> flags = AdminE2eTest::DaemonFlags();
    flags.push_back("--policy=" + policy);
    return flags;
  }
  void SetUp() override {
    AdminE2eTest::SetUp();
    if (mnt_ == nullptr) return;  // Skipped.
    mkdir(B("shared").c_str(), 0777);
    chmod(B("shared").c_str(), 0777);
    WriteFile(B("shared/f.txt"), "x");
    chmod(B("shared/f.txt").c_str(), 0666);
  }
  // The errno of opening `rel` in the mount for writing as `uid`.
  int OpenForWrite(uid_t uid, const std::string& rel) {
    return RunAs(User(uid), [&] {
      const int fd = open(M(rel).c_str(), O_WRONLY);
      if (fd < 0) return errno;
      close(fd);
      return 0;
    });
  }
  const Identity admin_{kAdminUid, kNobody, {}};
};

TEST_F(OwnerAdminTest, SetGetClearMoveOwnershipAndAreAudited) {
  // Made behind the daemon's back: nobody owns it, nobody may write it.
  EXPECT_EQ(OpenForWrite(kBeta, "shared/f.txt"), EACCES);
  CtlResult r = Ctl({"owner", "get", "shared/f.txt"}, admin_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "path   shared/f.txt\nowner  none\n");

  // An admin (not root) makes beta the owner: beta may write, alpha not.
  r = Ctl({"owner", "set", "shared/f.txt", "--uid=2002"}, admin_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "owner     uid 2002\napp       beta\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "previous  none\n")) << r.out;
  EXPECT_EQ(OpenForWrite(kBeta, "shared/f.txt"), 0);
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/f.txt"), EACCES);
  // The record is for that inode, as a create through the mount makes it.
  struct stat st;
  ASSERT_EQ(stat(B("shared/f.txt").c_str(), &st), 0);
  r = Ctl({"owner", "get", M("shared/f.txt"), "--json"}, admin_);  // full path works too
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\"path\":\"shared/f.txt\"")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"uid\":2002,\"app\":\"beta\"")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, absl::StrCat("\"ino\":\"", st.st_ino, "\""))) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "\"birth_unix_nanos\":\"0\"")) << r.out;

  // Moving it on to alpha, then to nobody.
  r = Ctl({"owner", "set", "shared/f.txt", "--uid=2001"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "previous  uid 2002 (app beta)\n")) << r.out;
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/f.txt"), 0);
  EXPECT_EQ(OpenForWrite(kBeta, "shared/f.txt"), EACCES);
  r = Ctl({"owner", "clear", "shared/f.txt"}, admin_);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "previous  uid 2001 (app alpha)\n")) << r.out;
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/f.txt"), EACCES);
  EXPECT_EQ(Ctl({"owner", "get", "shared/f.txt"}).out, "path   shared/f.txt\nowner  none\n");

  // Every change is an audit event with the admin's uid.
  r = Ctl({"audit", "query", "op=setattr", "path=shared/f.txt", "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> want = {
      absl::StrCat("\"uid\":", kAdminUid, ",\"gid\":", kNobody),
      "\"rule_id\":\"admin:owner-set:2002\"", "\"uid\":0,", "\"rule_id\":\"admin:owner-set:2001\"",
      absl::StrCat("\"uid\":", kAdminUid), "\"rule_id\":\"admin:owner-clear\""};
  size_t at = 0;
  for (const std::string& w : want) {  // In this order.
    const size_t found = r.out.find(w, at);
    ASSERT_NE(found, std::string::npos) << w << " after " << at << " in\n" << r.out;
    at = found;
  }
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"comm\":\"scopedctl\"")) << r.out;
}

TEST_F(OwnerAdminTest, EscapedNamesAndRestarts) {
  const std::string name = "shared/new\nline \x1b[2J\xff";
  WriteFile(B(name), "x");
  chmod(B(name).c_str(), 0666);
  CtlResult r = Ctl({"owner", "set", "shared/new\\x0aline \\x1b[2J\\xff", "--uid=2001"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "path      shared/new\\x0aline \\x1b[2J\\xff\n")) << r.out;
  EXPECT_EQ(OpenForWrite(kAlpha, name), 0);
  // The raw name, as a shell passes it, works too (escaped by scopedctl).
  r = Ctl({"owner", "get", name});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "app       alpha\n")) << r.out;
  // The record is stored like any other: it survives a restart.
  for (int i = 0; i < 200; ++i) {
    auto s = mnt_->Stats();
    ASSERT_TRUE(s.ok());
    if ((*s)["audit_owner_changes_pending"] == 0) break;
    usleep(10000);
  }
  ASSERT_TRUE(mnt_->Restart().ok());
  EXPECT_EQ(OpenForWrite(kAlpha, name), 0);
  EXPECT_EQ(OpenForWrite(kBeta, name), EACCES);
}

TEST_F(OwnerAdminTest, BadPathsAreRefusedWithOneClearLine) {
  ASSERT_EQ(symlink("shared", B("link").c_str()), 0);
  mkdir(B("shared/sub").c_str(), 0777);
  WriteFile(B("plain"), "");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"../etc/passwd", "bad path \"../etc/passwd\": \"..\" components are not allowed"},
      {"shared/../shared/f.txt",
       "bad path \"shared/../shared/f.txt\": \"..\" components are not allowed"},
      {"./shared/f.txt", "bad path \"./shared/f.txt\": \".\" components are not allowed"},
      {"shared//f.txt", "bad path \"shared//f.txt\": an empty component (\"//\")"},
      {"/etc/passwd", "bad path \"/etc/passwd\": absolute; give it relative to the mount root"},
      {"link/f.txt",
       "bad path \"link/f.txt\": \"link\" is a symlink (give the path the mount serves the "
       "file at)"},
      {"plain/x", "bad path \"plain/x\": \"plain\" is not a directory"},
      {"shared/a\\qb", "bad path \"shared/a\\qb\": unknown escape at byte 8"},
      {"shared/\\x00", "bad path \"shared/\\x00\": it holds a NUL byte"},
      {"shared/nope", "no file at \"shared/nope\""},
      {"nope/f.txt", "no file at \"nope/f.txt\": there is no \"nope\""},
  };
  for (const auto& [path, message] : cases) {
    SCOPED_TRACE(path);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"owner", "get", path},
          {"owner", "set", path, "--uid=2002"}}) {
      const CtlResult r = Ctl(args, admin_);
      EXPECT_EQ(r.status, 1) << r.out;
      EXPECT_EQ(r.out, "");
      EXPECT_TRUE(absl::StartsWith(r.err, "scopedctl: error: " + message)) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
  }
  // Nothing changed hands, nothing was audited.
  EXPECT_EQ(OpenForWrite(kBeta, "shared/f.txt"), EACCES);
  EXPECT_EQ(Ctl({"audit", "query", "op=setattr", "--json"}).out, "");
  // Clearing a name with no file left is fine (a leftover record goes).
  const CtlResult gone = Ctl({"owner", "clear", "shared/nope"});
  EXPECT_EQ(gone.status, 0) << gone.err;
  EXPECT_TRUE(absl::StrContains(gone.out, "file      none at this path\n")) << gone.out;
  // Usage mistakes are exit 2.
  CtlResult usage = Ctl({"owner", "set", "shared/f.txt"});
  EXPECT_EQ(usage.status, 2);
  EXPECT_EQ(usage.err, "scopedctl: error: owner set needs --uid (see scopedctl --help)\n");
  usage = Ctl({"owner", "get"});
  EXPECT_EQ(usage.status, 2);
  EXPECT_EQ(usage.err, "scopedctl: error: owner get needs a PATH (see scopedctl --help)\n");
}

TEST_F(OwnerAdminTest, NonAdminsAreRefused) {
  const Identity member{kNobody, kNobody, {}};  // reaches the socket, no admin
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"owner", "get", "shared/f.txt"},
        {"owner", "set", "shared/f.txt", "--uid=65534"},
        {"owner", "clear", "shared/f.txt"}}) {
    const CtlResult r = Ctl(args, member);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, absl::StrCat("scopedctl: error: permission denied by scopedfsd: uid ",
                                  kNobody, " is not an admin\n"));
  }
  EXPECT_EQ(Ctl({"owner", "get", "shared/f.txt"}).out, "path   shared/f.txt\nowner  none\n");
  EXPECT_EQ(Ctl({"audit", "query", "op=setattr", "--json"}).out, "");
}

}  // namespace
}  // namespace scopedfs::testing
