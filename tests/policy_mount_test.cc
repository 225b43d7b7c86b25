// The policy in a live mount: HIDE and DENY per operation, live updates over
// the admin API while clients keep working, persistence across restarts.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/admin.grpc.pb.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

std::set<std::string> List(const std::string& dir) { return ListNames(dir); }

// Apps: uid 1000 is "alice", uid 1001 "bob"; root bypasses the rules.
constexpr char kBasePolicy[] = R"pb(
  apps { name: "alice" uids: 1000 }
  apps { name: "bob" uids: 1001 }
  rules { id: "secret-hidden-from-bob" apps: "bob" paths: "secret/" action: HIDE }
  rules { id: "ro-no-write" paths: "ro/" operations: [WRITE, CREATE, DELETE, RENAME, SETATTR] action: DENY }
  rules { id: "peek-hidden" apps: "bob" paths: "open/peek.txt" operations: LOOKUP action: HIDE }
  default_action: ALLOW
)pb";

class PolicyMountTest : public MountTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    WriteFile(mnt_dir_.Sub("policy.textproto"), kBasePolicy);
    return {"--policy=" + mnt_dir_.Sub("policy.textproto")};
  }
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* d : {"secret", "ro", "open"}) {
      ASSERT_EQ(mkdir(B(d).c_str(), 0777), 0);
      chmod(B(d).c_str(), 0777);
    }
    WriteFile(B("secret/plan.txt"), "plan");
    WriteFile(B("ro/readme.txt"), "read me");
    WriteFile(B("open/a.txt"), "a");
    WriteFile(B("open/peek.txt"), "top secret");
    chmod(B("open/peek.txt").c_str(), 0666);
    for (const char* f : {"secret/plan.txt", "ro/readme.txt", "open/a.txt"}) {
      chmod(B(f).c_str(), 0666);
    }
    // Alice owns ro/readme.txt: the kernel lets her chmod it, the policy not.
    chown(B("ro/readme.txt").c_str(), 1000, 1000);
    stub_ = v1::Admin::NewStub(grpc::CreateChannel(
        "unix:" + mnt_->AdminSocket(), grpc::InsecureChannelCredentials()));
  }

  uint64_t Generation() {
    grpc::ClientContext ctx;
    v1::GetPolicyRequest req;
    v1::GetPolicyResponse resp;
    EXPECT_TRUE(stub_->GetPolicy(&ctx, req, &resp).ok());
    return resp.policy().generation();
  }

  grpc::Status Apply(const std::string& text, uint64_t expected,
                     uint64_t* generation = nullptr) {
    grpc::ClientContext ctx;
    v1::ApplyPolicyRequest req;
    req.set_text(text);
    req.set_expected_generation(expected);
    v1::ApplyPolicyResponse resp;
    grpc::Status st = stub_->ApplyPolicy(&ctx, req, &resp);
    if (generation != nullptr) *generation = resp.generation();
    return st;
  }

  void TearDown() override {
    stub_.reset();
    MountTest::TearDown();
  }

  TempDir mnt_dir_;
  std::unique_ptr<v1::Admin::Stub> stub_;
};

TEST_F(PolicyMountTest, HideMeansEnoentAndMissingFromListings) {
  EXPECT_EQ(RunAs(User(1001), [&] {
              struct stat st;
              if (stat(M("secret").c_str(), &st) == 0) return 1;
              if (errno != ENOENT) return 2;
              if (List(mnt_->mount()).count("secret")) return 3;
              if (open(M("secret/plan.txt").c_str(), O_RDONLY) >= 0) return 4;
              return errno == ENOENT ? 0 : 5;
            }),
            0);
  // Alice and root still see it.
  EXPECT_EQ(RunAs(User(1000), [&] {
              if (!List(mnt_->mount()).count("secret")) return 1;
              return ReadFile(M("secret/plan.txt")) == "plan" ? 0 : 2;
            }),
            0);
  EXPECT_EQ(ReadFile(M("secret/plan.txt")), "plan");
  EXPECT_GE(Stat("decisions_hide"), 1u);
}

TEST_F(PolicyMountTest, DenyAnswersEaccesForEveryChangingOperation) {
  const int result = RunAs(User(1000), [&] {
    int fails = 0;
    auto expect_eacces = [&](long res, int bit) {
      if (!(res < 0 && errno == EACCES)) fails |= bit;
    };
    expect_eacces(open(M("ro/readme.txt").c_str(), O_WRONLY), 1);
    expect_eacces(open(M("ro/new.txt").c_str(), O_CREAT | O_WRONLY, 0644), 2);
    expect_eacces(unlink(M("ro/readme.txt").c_str()), 4);
    expect_eacces(rename(M("ro/readme.txt").c_str(), M("open/moved").c_str()), 8);
    expect_eacces(mkdir(M("ro/d").c_str(), 0755), 16);
    expect_eacces(chmod(M("ro/readme.txt").c_str(), 0600), 32);
    expect_eacces(truncate(M("ro/readme.txt").c_str(), 0), 64);
    expect_eacces(rename(M("open/a.txt").c_str(), M("ro/a.txt").c_str()), 128);
    // Reading stays allowed.
    if (ReadFile(M("ro/readme.txt")) != "read me") fails |= 256;
    return fails;
  });
  EXPECT_EQ(result, 0) << "bitmask of operations that were not refused";
  EXPECT_EQ(ReadFile(B("ro/readme.txt")), "read me");
  EXPECT_GE(Stat("decisions_deny"), 8u);
}

TEST_F(PolicyMountTest, LiveApplyWhileClientsWork) {
  const uint64_t gen = Generation();
  ASSERT_GE(gen, 1u);
  // Clients of two uids keep opening and reading while the policy changes.
  std::atomic<bool> stop{false};
  std::vector<pid_t> kids;
  const std::string errors_file = mnt_dir_.Sub("errors");
  for (uid_t uid : {1000u, 1001u, 1002u}) {
    const pid_t pid = fork();
    if (pid == 0) {
      if (!BecomeIdentity(User(uid))) _exit(99);
      // Reads of open/ must never fail; run until the parent says stop.
      for (int i = 0; i < 100000; ++i) {
        const int fd = open(M("open/a.txt").c_str(), O_RDONLY);
        char c;
        if (fd < 0 || pread(fd, &c, 1, 0) != 1 || c != 'a') _exit(1);
        close(fd);
        if (access(M("stop").c_str(), F_OK) == 0) _exit(0);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  usleep(200000);
  // Bob watches the open/ dir listing; the new policy hides a.txt... no:
  // it hides open/hidden.txt from bob only.
  WriteFile(B("open/hidden.txt"), "h");
  chmod(B("open/hidden.txt").c_str(), 0666);
  EXPECT_EQ(RunAs(User(1001), [&] {
              return List(M("open")).count("hidden.txt") ? 0 : 1;
            }),
            0);
  const std::string next = absl::StrCat(
      kBasePolicy,
      R"pb(rules { id: "hide-new" apps: "bob" paths: "open/hidden.txt" action: HIDE })pb");
  uint64_t new_gen = 0;
  const auto applied_at = std::chrono::steady_clock::now();
  grpc::Status st = Apply(next, gen, &new_gen);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(new_gen, gen + 1);
  // Within a second bob's ls no longer shows it; alice still does.
  int vanished = 1;
  while (std::chrono::steady_clock::now() - applied_at < std::chrono::seconds(1)) {
    vanished = RunAs(User(1001), [&] {
      return List(M("open")).count("hidden.txt") ? 1 : 0;
    });
    if (vanished == 0) break;
    usleep(20000);
  }
  EXPECT_EQ(vanished, 0) << "hidden file still listed for bob after 1 s";
  EXPECT_EQ(RunAs(User(1000), [&] {
              return List(M("open")).count("hidden.txt") ? 0 : 1;
            }),
            0);
  usleep(200000);
  WriteFile(B("stop"), "");
  for (pid_t pid : kids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "a client failed during the policy change: " << status;
  }
}

// A name hidden only from LOOKUP looks absent; creating or renaming over it
// must not reach the hidden file.
TEST_F(PolicyMountTest, HiddenNameCannotBeOpenedByCreateOrReplaced) {
  const int result = RunAs(User(1001), [&] {
    int fails = 0;
    const int fd = open(M("open/peek.txt").c_str(), O_CREAT | O_RDWR, 0666);
    if (!(fd < 0 && errno == EACCES)) fails |= 1;
    WriteFile(M("open/mine.txt"), "mine");
    if (!(rename(M("open/mine.txt").c_str(), M("open/peek.txt").c_str()) < 0 &&
          errno == EACCES)) {
      fails |= 2;
    }
    struct stat st;
    if (stat(M("open/peek.txt").c_str(), &st) == 0) fails |= 4;
    return fails;
  });
  EXPECT_EQ(result, 0) << "bitmask of what reached the hidden file";
  EXPECT_EQ(ReadFile(B("open/peek.txt")), "top secret");
}

TEST_F(PolicyMountTest, StaleGenerationIsRefusedAndChangesNothing) {
  const uint64_t gen = Generation();
  grpc::Status st = Apply("default_action: DENY\n", gen + 7);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("generation"), std::string::npos);
  EXPECT_EQ(Generation(), gen);
  EXPECT_EQ(RunAs(User(1000), [&] {
              return ReadFile(M("open/a.txt")) == "a" ? 0 : 1;
            }),
            0);
}

TEST_F(PolicyMountTest, InvalidPolicyIsRefusedWithFieldPath) {
  const uint64_t gen = Generation();
  grpc::Status st = Apply(
      "rules { id: \"x\" paths: \"DCIM/[abc\" action: DENY }\n"
      "default_action: ALLOW\n",
      0);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("rules[0].paths[0]"), std::string::npos)
      << st.error_message();
  EXPECT_EQ(Generation(), gen);
}

TEST_F(PolicyMountTest, PolicyPersistsAcrossRestart) {
  const uint64_t gen = Generation();
  const std::string next = absl::StrCat(
      kBasePolicy, R"pb(rules { id: "deny-open" paths: "open/" action: DENY })pb");
  ASSERT_TRUE(Apply(next, gen).ok());
  ASSERT_EQ(mnt_->Stop(SIGTERM), 0);
  struct stat st;
  ASSERT_EQ(stat((mnt_->state_dir() + "/policy.textproto").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Restart on the same state dir (the seed flag no longer matters).
  const pid_t pid = fork();
  if (pid == 0) {
    execl(DaemonBinary().c_str(), "scopedfsd", "--foreground",
          ("--state_dir=" + mnt_->state_dir()).c_str(),
          mnt_->backing().c_str(), mnt_->mount().c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 1000 && !IsFuseMounted(mnt_->mount()); ++i) usleep(5000);
  ASSERT_TRUE(IsFuseMounted(mnt_->mount()));
  for (int i = 0; i < 200 && access(mnt_->AdminSocket().c_str(), F_OK) != 0; ++i) usleep(5000);
  stub_ = v1::Admin::NewStub(grpc::CreateChannel(
      "unix:" + mnt_->AdminSocket(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Generation(), gen + 1);
  EXPECT_EQ(RunAs(User(1000), [&] {
              return open(M("open/a.txt").c_str(), O_RDONLY) < 0 && errno == EACCES ? 0 : 1;
            }),
            0);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

TEST_F(PolicyMountTest, ExplainWithoutTouchingFiles) {
  grpc::ClientContext ctx;
  v1::ExplainRequest req;
  req.set_app("bob");
  req.set_path("secret/nothing-here.jpg");
  req.set_operation(v1::READ);
  v1::ExplainResponse resp;
  ASSERT_TRUE(stub_->Explain(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.decision().action(), v1::HIDE);
  EXPECT_EQ(resp.decision().rule_id(), "secret-hidden-from-bob");
  EXPECT_EQ(resp.decision().app(), "bob");
  EXPECT_FALSE(resp.decision().reason().empty());
}

TEST_F(PolicyMountTest, StatsAndHealth) {
  grpc::ClientContext ctx;
  v1::HealthResponse health;
  ASSERT_TRUE(stub_->Health(&ctx, v1::HealthRequest(), &health).ok());
  EXPECT_TRUE(health.serving());
  EXPECT_TRUE(health.passthrough());
  EXPECT_EQ(health.mountpoint(), mnt_->mount());
  ReadFile(M("open/a.txt"));
  grpc::ClientContext ctx2;
  v1::GetStatsResponse stats;
  ASSERT_TRUE(stub_->GetStats(&ctx2, v1::GetStatsRequest(), &stats).ok());
  EXPECT_GE(stats.counters().at("opens_passthrough"), 1u);
  EXPECT_EQ(stats.policy_generation(), health.policy_generation());
}

TEST(PolicyStartup, CorruptStoredPolicyRefusesToStartUnlessFallback) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  TempDir dir;
  const std::string state = dir.Sub("state");
  mkdir(state.c_str(), 0700);
  mkdir(dir.Sub("src").c_str(), 0755);
  mkdir(dir.Sub("mnt").c_str(), 0755);
  WriteFile(state + "/policy.textproto", "rules { this is not a policy");
  const std::string cmd = absl::StrCat(DaemonBinary(), " --foreground --state_dir=", state,
                                       " ", dir.Sub("src"), " ", dir.Sub("mnt"), " 2>&1");
  const ShellResult refused = RunShell(cmd);
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.output.find("policy"), std::string::npos) << refused.output;
  EXPECT_FALSE(IsFuseMounted(dir.Sub("mnt")));
  // With the fallback flag it starts on the embedded default.
  const pid_t pid = fork();
  if (pid == 0) {
    execl(DaemonBinary().c_str(), "scopedfsd", "--foreground",
          "--fallback_to_default_policy", ("--state_dir=" + state).c_str(),
          dir.Sub("src").c_str(), dir.Sub("mnt").c_str(), nullptr);
    _exit(127);
  }
  // Started for good once the admin socket exists (the last step).
  bool mounted = false;
  for (int i = 0; i < 1000 && access((state + "/admin.sock").c_str(), F_OK) != 0; ++i) {
    usleep(5000);
  }
  EXPECT_TRUE(mounted = IsFuseMounted(dir.Sub("mnt")));
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace
}  // namespace scopedfs::testing
