// scopedctl against an in-process fake Admin service on a Unix socket: the
// real binary is run and its stdout, stderr and exit code checked. Plus unit
// tests of the line diff behind `policy diff`.
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/file_util.h"
#include "tests/terminal_safe.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/admin.grpc.pb.h"
#include "tools/text_diff.h"

extern char** environ;

namespace scopedfs {
namespace {

using ::scopedfs::testing::ReadFile;
using ::scopedfs::testing::TerminalUnsafe;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// ---------------------------------------------------------------------------
// The fake daemon.

constexpr char kRunningPolicy[] = R"(# as stored by the daemon
apps { name: "gallery" uids: 10123 permissions: "media" }
rules { id: "dcim-read" apps: "gallery" paths: "DCIM/" operations: READ action: ALLOW }
default_action: DENY
generation: 4
)";

class FakeAdmin final : public v1::Admin::Service {
 public:
  // Canned answers (set before the tool runs).
  grpc::Status forced = grpc::Status::OK;  // Returned by every call if set.
  grpc::Status apply_error = grpc::Status::OK;
  std::chrono::milliseconds delay{0};
  v1::ValidatePolicyResponse validate_response;
  v1::ExplainResponse explain_response;
  v1::HealthResponse health;
  v1::GetStatsResponse stats;

  // State and what the tool sent.
  std::mutex mu;
  std::string policy_text = kRunningPolicy;
  uint64_t generation = 4;
  std::vector<v1::ValidatePolicyRequest> validates;
  std::vector<v1::ApplyPolicyRequest> applies;
  std::vector<v1::ExplainRequest> explains;
  int calls = 0;

  grpc::Status GetPolicy(grpc::ServerContext* ctx, const v1::GetPolicyRequest*,
                         v1::GetPolicyResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    response->set_text(policy_text);
    google::protobuf::TextFormat::ParseFromString(policy_text, response->mutable_policy());
    response->mutable_policy()->set_generation(generation);
    return grpc::Status::OK;
  }

  grpc::Status ValidatePolicy(grpc::ServerContext* ctx, const v1::ValidatePolicyRequest* request,
                              v1::ValidatePolicyResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    validates.push_back(*request);
    *response = validate_response;
    return grpc::Status::OK;
  }

  // Compare-and-set on the generation, as the daemon's PolicyStore does.
  grpc::Status ApplyPolicy(grpc::ServerContext* ctx, const v1::ApplyPolicyRequest* request,
                           v1::ApplyPolicyResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    applies.push_back(*request);
    if (request->expected_generation() != 0 && request->expected_generation() != generation) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("the policy changed since generation ",
                                       request->expected_generation(), " (now ", generation,
                                       "): fetch it again and retry"));
    }
    if (!apply_error.ok()) return apply_error;
    if (request->refuse_unrevocable() && !apply_handles.unrevocable().empty()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "not applied: 1 open handle the daemon cannot revoke would keep "
                          "its access:\npid 77 (player) uid 10124 app player path Music/a.mp3");
    }
    policy_text = request->text();
    *response = apply_handles;
    response->set_generation(++generation);
    return grpc::Status::OK;
  }

  grpc::Status Explain(grpc::ServerContext* ctx, const v1::ExplainRequest* request,
                       v1::ExplainResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    explains.push_back(*request);
    *response = explain_response;
    return grpc::Status::OK;
  }

  grpc::Status GetStats(grpc::ServerContext* ctx, const v1::GetStatsRequest*,
                        v1::GetStatsResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    *response = stats;
    return grpc::Status::OK;
  }

  grpc::Status Health(grpc::ServerContext* ctx, const v1::HealthRequest*,
                      v1::HealthResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    *response = health;
    return grpc::Status::OK;
  }

  // Issue 17: canned answers, and what the tool sent.
  v1::ApplyPolicyResponse apply_handles;  // revoked/unrevocable of every apply
  v1::ShadowReport shadow_report;         // GetShadowReport, ClearShadowPolicy
  v1::GetRuleHitsResponse rule_hits;
  v1::AddGrantResponse grant_added;
  v1::RevokeGrantResponse grant_revoked;
  v1::ListGrantsResponse grants;
  v1::ListHandlesResponse handles;
  std::vector<v1::SetShadowPolicyRequest> shadow_sets;
  std::vector<v1::GetShadowReportRequest> shadow_gets;
  int shadow_clears = 0;
  std::vector<v1::AddGrantRequest> grant_adds;
  std::vector<v1::RevokeGrantRequest> grant_revokes;
  std::vector<v1::ListHandlesRequest> handle_lists;

  // The report starts now and ends after the duration, as the daemon's.
  grpc::Status SetShadowPolicy(grpc::ServerContext* ctx, const v1::SetShadowPolicyRequest* request,
                               v1::SetShadowPolicyResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    shadow_sets.push_back(*request);
    if (request->text().find("bogus") != std::string::npos) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "text: line 1: unknown field");
    }
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    v1::ShadowReport* r = response->mutable_report();
    r->set_active(true);
    r->set_since_unix_nanos(now);
    if (request->duration_seconds() > 0) {
      r->set_expires_unix_nanos(now + static_cast<int64_t>(request->duration_seconds()) *
                                          1000000000);
    }
    return grpc::Status::OK;
  }

  grpc::Status ClearShadowPolicy(grpc::ServerContext* ctx, const v1::ClearShadowPolicyRequest*,
                                 v1::ShadowReport* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    ++shadow_clears;
    *response = shadow_report;
    response->set_active(false);
    return grpc::Status::OK;
  }

  grpc::Status GetShadowReport(grpc::ServerContext* ctx, const v1::GetShadowReportRequest* request,
                               v1::ShadowReport* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    shadow_gets.push_back(*request);
    *response = shadow_report;
    return grpc::Status::OK;
  }

  grpc::Status GetRuleHits(grpc::ServerContext* ctx, const v1::GetRuleHitsRequest*,
                           v1::GetRuleHitsResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    *response = rule_hits;
    return grpc::Status::OK;
  }

  grpc::Status AddGrant(grpc::ServerContext* ctx, const v1::AddGrantRequest* request,
                        v1::AddGrantResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    grant_adds.push_back(*request);
    *response = grant_added;
    return grpc::Status::OK;
  }

  grpc::Status RevokeGrant(grpc::ServerContext* ctx, const v1::RevokeGrantRequest* request,
                           v1::RevokeGrantResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    grant_revokes.push_back(*request);
    if (request->id() != grant_revoked.grant().id()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no grant " + request->id());
    }
    *response = grant_revoked;
    return grpc::Status::OK;
  }

  grpc::Status ListGrants(grpc::ServerContext* ctx, const v1::ListGrantsRequest*,
                          v1::ListGrantsResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    *response = grants;
    return grpc::Status::OK;
  }

  grpc::Status ListHandles(grpc::ServerContext* ctx, const v1::ListHandlesRequest* request,
                           v1::ListHandlesResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    handle_lists.push_back(*request);
    *response = handles;
    return grpc::Status::OK;
  }

  // Audit: `audit_events` (ids ascending) served a page of `audit_page` at
  // a time, filtered by id only; streams send what follows after_id.
  std::vector<v1::AuditEvent> audit_events;
  size_t audit_page = 2;
  // Streams stay open after the stored events, as the daemon's do, until
  // the client cancels.
  bool stream_stays_open = false;
  std::vector<v1::QueryAuditRequest> queries;
  std::vector<v1::StreamAuditRequest> streams;

  grpc::Status QueryAudit(grpc::ServerContext* ctx, const v1::QueryAuditRequest* request,
                          v1::QueryAuditResponse* response) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu);
    queries.push_back(*request);
    std::vector<v1::AuditEvent> events = audit_events;
    if (request->newest_first()) std::reverse(events.begin(), events.end());
    size_t start = 0;
    if (!request->page_token().empty()) start = std::stoul(request->page_token());
    const size_t n = std::min<size_t>({audit_page, request->limit(), events.size() - start});
    for (size_t i = start; i < start + n; ++i) *response->add_events() = events[i];
    if (start + n < events.size()) response->set_next_page_token(std::to_string(start + n));
    return grpc::Status::OK;
  }

  grpc::Status StreamAudit(grpc::ServerContext* ctx, const v1::StreamAuditRequest* request,
                           grpc::ServerWriter<v1::AuditEvent>* writer) override {
    if (grpc::Status st = Begin(ctx); !st.ok()) return st;
    std::vector<v1::AuditEvent> events;
    {
      std::lock_guard<std::mutex> lock(mu);
      streams.push_back(*request);
      events = audit_events;
    }
    for (const v1::AuditEvent& e : events) {
      if (!request->has_after_id() || e.id() > request->after_id()) writer->Write(e);
    }
    while (stream_stays_open && !ctx->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return grpc::Status::OK;  // A daemon that stops ends the stream.
  }

 private:
  grpc::Status Begin(grpc::ServerContext* ctx) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
    }
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until && !ctx->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return forced;
  }
};

// ---------------------------------------------------------------------------
// Running the tool.

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class ScopedctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sctl.XXXXXX";  // Short: socket paths must fit 108 bytes.
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    socket_ = dir_ + "/admin.sock";
    const char* srcdir = std::getenv("TEST_SRCDIR");
    ASSERT_NE(srcdir, nullptr);
    binary_ = absl::StrCat(srcdir, "/scopedfs/tools/scopedctl");
    ASSERT_EQ(access(binary_.c_str(), X_OK), 0) << binary_;

    fake_.health.set_serving(true);
    fake_.health.set_mountpoint("/mnt/shared");
    fake_.health.set_source("/srv/shared");
    fake_.health.set_passthrough(true);
    fake_.health.set_policy_generation(4);
    fake_.health.set_uptime_seconds(3723);
    (*fake_.stats.mutable_counters())["zeta.opens"] = 1;
    (*fake_.stats.mutable_counters())["alpha.requests"] = 2200;
    (*fake_.stats.mutable_counters())["mid.nodes"] = 3;
    fake_.stats.set_policy_generation(4);
    StartServer();
  }

  void TearDown() override {
    StopServer();
    for (const std::string& f : files_) unlink(f.c_str());
    unlink((dir_ + "/out").c_str());
    unlink((dir_ + "/err").c_str());
    unlink(socket_.c_str());
    rmdir(dir_.c_str());
  }

  void StartServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void StopServer() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
    server_.reset();
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    files_.push_back(path);
    return path;
  }

  // Runs scopedctl with `args` (after --state_dir=DIR) and `stdin_path`.
  Result Run(std::vector<std::string> args, const std::string& stdin_path = "/dev/null",
             bool add_state_dir = true) {
    if (add_state_dir) args.insert(args.begin(), "--state_dir=" + dir_);
    args.insert(args.begin(), binary_);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out = dir_ + "/out", err = dir_ + "/err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    Result result;
    pid_t pid;
    const int rc = posix_spawn(&pid, binary_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn: " << std::strerror(rc);
      return result;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = ReadFile(out);
    result.err = ReadFile(err);
    return result;
  }

  // Exactly one line "scopedctl: error: MESSAGE" on stderr.
  static void ExpectOneError(const Result& r, const std::string& message) {
    EXPECT_EQ(r.err, "scopedctl: error: " + message + "\n");
  }

  std::string dir_, socket_, binary_;
  std::vector<std::string> files_;
  FakeAdmin fake_;
  std::unique_ptr<grpc::Server> server_;
};

// --- policy validate --------------------------------------------------------

TEST_F(ScopedctlTest, ValidateValidPolicy) {
  const std::string file = WriteFile("p.textproto", "default_action: DENY\n");
  fake_.validate_response.set_valid(true);
  Result r = Run({"policy", "validate", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "policy " + file + " is valid\n");
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(fake_.validates.size(), 1u);
  EXPECT_EQ(fake_.validates[0].text(), "default_action: DENY\n");
}

TEST_F(ScopedctlTest, ValidateBrokenPolicyPrintsFieldPathsAndExits1) {
  const std::string file = WriteFile("bad.textproto", "rules { paths: \"DCIM/[\" }\n");
  fake_.validate_response.set_valid(false);
  v1::PolicyError* e = fake_.validate_response.add_errors();
  e->set_field("rules[3].paths[0]");
  e->set_message("unbalanced '['");
  e = fake_.validate_response.add_errors();
  e->set_field("default_action");
  e->set_message("must be set");
  e = fake_.validate_response.add_errors();
  e->set_field("text");  // What scopedfsd names a file that does not parse.
  e->set_message("3:7: Expected identifier, got: 3x");
  Result r = Run({"policy", "validate", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(Lines(r.out), ElementsAre(file + ": rules[3].paths[0]: unbalanced '['",
                                        file + ": default_action: must be set",
                                        file + ": 3:7: Expected identifier, got: 3x"));
  EXPECT_EQ(r.err, "");
}

TEST_F(ScopedctlTest, ValidateJson) {
  const std::string file = WriteFile("bad.textproto", "x\n");
  fake_.validate_response.set_valid(false);
  v1::PolicyError* e = fake_.validate_response.add_errors();
  e->set_field("rules[0].action");
  e->set_message("must be set");
  Result r = Run({"policy", "validate", file, "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "{\"valid\":false,\"errors\":[{\"field\":\"rules[0].action\","
            "\"message\":\"must be set\"}]}\n");
}

TEST_F(ScopedctlTest, ValidateReadsStandardInput) {
  const std::string file = WriteFile("p.textproto", "default_action: HIDE\n");
  fake_.validate_response.set_valid(true);
  Result r = Run({"policy", "validate", "-"}, file);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "policy <stdin> is valid\n");
  ASSERT_EQ(fake_.validates.size(), 1u);
  EXPECT_EQ(fake_.validates[0].text(), "default_action: HIDE\n");
}

TEST_F(ScopedctlTest, ValidateUnreadableFileIsOneLineAndNoCall) {
  const std::string missing = dir_ + "/missing.textproto";
  Result r = Run({"policy", "validate", missing});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  ExpectOneError(r, "cannot read " + missing + ": No such file or directory");
  r = Run({"policy", "validate", dir_});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "cannot read " + dir_ + ": Is a directory");
  EXPECT_EQ(fake_.calls, 0);
}

// --- policy apply -----------------------------------------------------------

TEST_F(ScopedctlTest, ApplyPassesExpectedGeneration) {
  const std::string file = WriteFile("p.textproto", "default_action: HIDE\n");
  Result r = Run({"policy", "apply", file, "--expect-generation=4"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "applied: generation 5\n");
  EXPECT_EQ(r.err, "");
  // The other spellings of the flag, and no check at all.
  r = Run({"policy", "apply", "--expect_generation", "5", file});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Run({"--json", "policy", "apply", file});
  EXPECT_EQ(r.code, 0) << r.err;
  // (The handles that lost their access: none.)
  EXPECT_EQ(r.out, "{\"generation\":\"7\",\"revoked\":[],\"unrevocable\":[]}\n");
  ASSERT_EQ(fake_.applies.size(), 3u);
  EXPECT_EQ(fake_.applies[0].expected_generation(), 4u);
  EXPECT_EQ(fake_.applies[0].text(), "default_action: HIDE\n");
  EXPECT_EQ(fake_.applies[1].expected_generation(), 5u);
  EXPECT_EQ(fake_.applies[2].expected_generation(), 0u);
}

TEST_F(ScopedctlTest, ApplyWithStaleGenerationFailsClearlyAndChangesNothing) {
  const std::string file = WriteFile("p.textproto", "default_action: HIDE\n");
  Result r = Run({"policy", "apply", file, "--expect-generation", "3"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  ExpectOneError(r, "policy " + file +
                        " not applied: the policy changed since generation 3 (now 4): "
                        "fetch it again and retry");
  ASSERT_EQ(fake_.applies.size(), 1u);  // No retry, no fallback.
  EXPECT_EQ(fake_.applies[0].expected_generation(), 3u);
  EXPECT_EQ(fake_.generation, 4u);
  EXPECT_EQ(fake_.policy_text, kRunningPolicy);
  // The running policy is still the old one.
  r = Run({"policy", "get"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("# generation 4\n") + kRunningPolicy);
}

TEST_F(ScopedctlTest, ApplyInvalidPolicyIsOneLine) {
  const std::string file = WriteFile("p.textproto", "rules {}\n");
  fake_.apply_error = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "rules[0].action: must be set\nrules[0].id: empty");
  Result r = Run({"policy", "apply", file});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "policy " + file +
                        " not applied: rules[0].action: must be set; rules[0].id: empty");
}

// --- errors from the transport ----------------------------------------------

TEST_F(ScopedctlTest, PermissionDeniedIsMappedForEveryCommand) {
  fake_.forced = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "peer uid 1234 not allowed");
  const std::string file = WriteFile("p.textproto", "default_action: HIDE\n");
  const std::string expected =
      absl::StrCat("permission denied by scopedfsd: uid ", geteuid(), " is not an admin");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status"},
           {"stats"},
           {"policy", "get"},
           {"policy", "validate", file},
           {"policy", "apply", file, "--expect-generation=4"},
           {"policy", "diff", file},
           {"explain", "--app=gallery", "--path=DCIM/a.jpg", "--op=read"},
           {"--json", "status"},
           {"policy", "shadow", file},
           {"policy", "shadow", "report"},
           {"policy", "shadow", "stop"},
           {"policy", "rules"},
           {"grant", "gallery", "DCIM"},
           {"revoke", "g1"},
           {"grants"},
           {"handles"},
       }) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    Result r = Run(args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    ExpectOneError(r, expected);
  }
  EXPECT_EQ(fake_.generation, 4u);
}

// gRPC's own size error (a daemon with another bound than this scopedctl)
// is said in words, never as "Received message larger than max".
TEST_F(ScopedctlTest, MessageSizeErrorsAreSaidInWords) {
  fake_.forced = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "Received message larger than max (314572800 vs. 268435456)");
  Result r = Run({"policy", "get"});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "the GetPolicy message is 300 MB; the Admin API takes at most 256 MB");
  const std::string file = WriteFile("p.textproto", "default_action: HIDE\n");
  r = Run({"policy", "apply", file});
  ExpectOneError(r, "policy " + file +
                        " not applied: the ApplyPolicy message is 300 MB; the Admin API takes "
                        "at most 256 MB");
  // The daemon's own words pass through.
  fake_.forced = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "the running policy is 300 MB as text; the Admin API answers "
                              "at most 256 MB");
  r = Run({"policy", "get"});
  ExpectOneError(r, "the running policy is 300 MB as text; the Admin API answers at most 256 MB");
}

TEST_F(ScopedctlTest, ConnectionFailures) {
  // No socket at all.
  const std::string missing = dir_ + "/nowhere";
  Result r = Run({"--state_dir=" + missing, "status"}, "/dev/null", false);
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "cannot reach scopedfsd at unix:" + missing +
                        "/admin.sock: No such file or directory");

  // A socket nobody listens on.
  const std::string dead = dir_ + "/dead.sock";
  files_.push_back(dead);
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, dead.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  r = Run({"--socket", dead, "policy", "get"}, "/dev/null", false);
  close(fd);
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "cannot reach scopedfsd at unix:" + dead + ": Connection refused");

  // The daemon went away.
  StopServer();
  r = Run({"status", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("scopedctl: error: cannot reach scopedfsd at unix:" + socket_));
  EXPECT_EQ(Lines(r.err).size(), 1u);

  // A path no Unix socket can have.
  r = Run({"--socket=/tmp/" + std::string(120, 'x'), "status"}, "/dev/null", false);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("socket path is 125 bytes long (at most 107)"));
}

TEST_F(ScopedctlTest, SlowDaemonTimesOut) {
  fake_.delay = std::chrono::milliseconds(3000);
  Result r = Run({"--timeout=0.3", "status"});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "scopedfsd at unix:" + socket_ +
                        " did not answer within 300ms (see --timeout)");
}

TEST_F(ScopedctlTest, OtherStatusCodesPassTheMessageOnOneLine) {
  fake_.forced = grpc::Status(grpc::StatusCode::INTERNAL, "cannot write policy:\n disk full");
  Result r = Run({"policy", "get"});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "cannot write policy:; disk full");
  fake_.forced = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  r = Run({"explain", "--uid=0", "--path=x", "--op=lookup"});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "scopedfsd at unix:" + socket_ +
                        " does not support Explain (is it older than this scopedctl?)");
}

// --- policy get / diff ------------------------------------------------------

TEST_F(ScopedctlTest, PolicyGet) {
  Result r = Run({"policy", "get"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("# generation 4\n") + kRunningPolicy);
  r = Run({"policy", "get", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"policy\":{\"generation\":\"4\","));
  EXPECT_THAT(r.out, HasSubstr("\"default_action\":\"DENY\""));
  EXPECT_EQ(Lines(r.out).size(), 1u);
}

TEST_F(ScopedctlTest, DiffOfTheSamePolicyInAnotherLayoutIsEmpty) {
  const std::string file = WriteFile("same.textproto", R"(default_action: DENY
# comments and layout do not count
rules {id: "dcim-read", apps: ["gallery"], paths: "DCIM/", operations: [READ], action: ALLOW}
apps {
  name: "gallery"
  uids: [10123]
  permissions: "media"
}
generation: 99
)");
  Result r = Run({"policy", "diff", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no differences (running generation 4)\n");
  r = Run({"policy", "diff", file, "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"file\":\"" + file +
                       "\",\"running_generation\":\"4\",\"identical\":true,\"diff\":\"\"}\n");
}

TEST_F(ScopedctlTest, DiffShowsChangesAndExits1) {
  const std::string file = WriteFile("changed.textproto", R"(
apps { name: "gallery" uids: 10123 permissions: "media" }
rules { id: "dcim-read" apps: "gallery" paths: "DCIM/" operations: READ action: ALLOW }
default_action: HIDE
)");
  Result r = Run({"policy", "diff", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "--- running (generation 4)\n"
                   "+++ " + file + "\n"
                   "@@ -10,4 +10,4 @@\n"
                   "   operations: READ\n"
                   "   action: ALLOW\n"
                   " }\n"
                   "-default_action: DENY\n"
                   "+default_action: HIDE\n");
  r = Run({"policy", "diff", file, "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.out, HasSubstr("\"identical\":false,\"diff\":\"--- running (generation 4)\\n"));
  EXPECT_THAT(r.out, HasSubstr("\\n-default_action: DENY\\n+default_action: HIDE\\n\"}"));
}

TEST_F(ScopedctlTest, DiffOfAnUnparsableFileNamesTheLine) {
  const std::string file = WriteFile("broken.textproto", "default_action: DENY\nrules {\n  id: 3x\n");
  Result r = Run({"policy", "diff", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, StartsWith("scopedctl: error: " + file + ": line 3:"));
  EXPECT_EQ(Lines(r.err).size(), 1u);
  EXPECT_EQ(fake_.calls, 0);
}

// --- explain ----------------------------------------------------------------

void SetRedactedDecision(FakeAdmin& fake) {
  v1::Decision* d = fake.explain_response.mutable_decision();
  d->set_action(v1::ALLOW_REDACTED);
  d->set_rule_id("media-redacted");
  d->set_rule_index(3);
  d->set_reason("rule media-redacted: app gallery lacks media_location");
  d->set_redaction_profile("strip-gps");
  d->set_audit(true);
  d->set_generation(4);
  d->set_app("gallery");
}

TEST_F(ScopedctlTest, ExplainTable) {
  SetRedactedDecision(fake_);
  Result r = Run({"explain", "--app", "gallery", "--path", "DCIM/a.jpg", "--op", "read"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "action      ALLOW_REDACTED\n"
            "rule        media-redacted (rules[3])\n"
            "reason      rule media-redacted: app gallery lacks media_location\n"
            "app         gallery\n"
            "redaction   strip-gps\n"
            "audit       yes\n"
            "generation  4\n");
  ASSERT_EQ(fake_.explains.size(), 1u);
  const v1::ExplainRequest& q = fake_.explains[0];
  EXPECT_EQ(q.caller_case(), v1::ExplainRequest::kApp);
  EXPECT_EQ(q.app(), "gallery");
  EXPECT_EQ(q.path(), "DCIM/a.jpg");
  EXPECT_EQ(q.operation(), v1::READ);
  EXPECT_FALSE(q.caller_is_owner());
}

TEST_F(ScopedctlTest, ExplainJsonByUid) {
  SetRedactedDecision(fake_);
  Result r = Run({"explain", "--uid=0", "--gid=1015", "--path=Download/x.pdf", "--op=WRITE",
                  "--owner", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"decision\":{\"action\":\"ALLOW_REDACTED\",\"rule_id\":\"media-redacted\","
            "\"rule_index\":3,\"reason\":\"rule media-redacted: app gallery lacks "
            "media_location\",\"redaction_profile\":\"strip-gps\",\"audit\":true,"
            "\"generation\":\"4\",\"app\":\"gallery\"}}\n");
  ASSERT_EQ(fake_.explains.size(), 1u);
  const v1::ExplainRequest& q = fake_.explains[0];
  EXPECT_EQ(q.caller_case(), v1::ExplainRequest::kUid);  // uid 0 is a uid, not "unset".
  EXPECT_EQ(q.uid(), 0u);
  EXPECT_EQ(q.gid(), 1015u);
  EXPECT_EQ(q.operation(), v1::WRITE);
  EXPECT_TRUE(q.caller_is_owner());
}

TEST_F(ScopedctlTest, ExplainDefaultDecision) {
  v1::Decision* d = fake_.explain_response.mutable_decision();
  d->set_action(v1::DENY);
  d->set_rule_index(-1);
  d->set_reason("no rule matches: default action");
  d->set_generation(4);
  Result r = Run({"explain", "--uid=10999", "--path=Music/a.mp3", "--op=delete"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("action      DENY\n"
                               "rule        none (default action or bypass)\n"));
  EXPECT_THAT(r.out, HasSubstr("app         none\n"));
}

TEST_F(ScopedctlTest, ExplainAbsolutePathUnderTheMountpoint) {
  SetRedactedDecision(fake_);
  Result r = Run({"explain", "--app=gallery", "--path=/mnt/shared/DCIM/a.jpg", "--op=lookup"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.explains.size(), 1u);
  EXPECT_EQ(fake_.explains[0].path(), "DCIM/a.jpg");
  // Other absolute paths go as they are: the daemon reads them from the mount root.
  r = Run({"explain", "--app=gallery", "--path=/mnt/sharedother/a.jpg", "--op=lookup"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = Run({"explain", "--app=gallery", "--path=/mnt/shared", "--op=lookup"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.explains.size(), 3u);
  EXPECT_EQ(fake_.explains[1].path(), "/mnt/sharedother/a.jpg");
  EXPECT_EQ(fake_.explains[2].path(), "");
}

// --- status -----------------------------------------------------------------

TEST_F(ScopedctlTest, StatusTable) {
  Result r = Run({"status"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "serving      yes\n"
            "mountpoint   /mnt/shared\n"
            "source       /srv/shared\n"
            "passthrough  yes\n"
            "generation   4\n"
            "uptime       1h 2m 3s\n"
            "\n"
            "COUNTER         VALUE\n"
            "alpha.requests   2200\n"
            "mid.nodes           3\n"
            "zeta.opens          1\n");
}

TEST_F(ScopedctlTest, StatusJson) {
  Result r = Run({"status", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out,
              StartsWith("{\"health\":{\"serving\":true,\"mountpoint\":\"/mnt/shared\","
                         "\"source\":\"/srv/shared\",\"passthrough\":true,"
                         "\"policy_generation\":\"4\",\"uptime_seconds\":\"3723\"},"
                         "\"stats\":{\"counters\":{"));
  EXPECT_THAT(r.out, HasSubstr("\"alpha.requests\":\"2200\""));
}

// --- audit and Prometheus ---------------------------------------------------

v1::AuditEvent Event(uint64_t id, const std::string& path, v1::Action decision) {
  v1::AuditEvent e;
  e.set_id(id);
  e.set_time_unix_nanos(1764064800000000000 + static_cast<int64_t>(id) * 1000000);
  e.set_uid(10123);
  e.set_pid(4242);
  e.set_comm("gallery");
  e.set_app("gallery");
  e.set_path(path);
  e.set_operation(v1::READ);
  e.set_decision(decision);
  e.set_rule_id(decision == v1::DENY ? "no-read" : "");
  return e;
}

TEST_F(ScopedctlTest, AuditQueryPagesThroughAndSendsTheFilter) {
  fake_.audit_events = {Event(1, "DCIM/a.jpg", v1::ALLOW), Event(2, "DCIM/b.jpg", v1::DENY),
                        Event(3, "DCIM/c.jpg", v1::ALLOW)};
  Result r = Run({"audit", "query", "app=gallery", "op=read", "decision=allow,deny",
                  "path=DCIM", "--limit=0"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.queries.size(), 2u);  // Two pages of two.
  const v1::AuditFilter& f = fake_.queries[0].filter();
  ASSERT_EQ(f.apps_size(), 1);
  EXPECT_EQ(f.apps(0), "gallery");
  ASSERT_EQ(f.operations_size(), 1);
  EXPECT_EQ(f.operations(0), v1::READ);
  EXPECT_EQ(f.decisions_size(), 2);
  EXPECT_EQ(f.path_prefix(), "DCIM");
  EXPECT_EQ(fake_.queries[1].page_token(), "2");
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("ID"));
  EXPECT_THAT(lines[1], HasSubstr("2025-11-25T10:00:00.001Z"));
  EXPECT_THAT(lines[2], HasSubstr("deny"));
  EXPECT_THAT(lines[2], HasSubstr("no-read"));
  EXPECT_THAT(lines[3], HasSubstr("DCIM/c.jpg"));
}

TEST_F(ScopedctlTest, AuditQueryLimitStopsEarlyAndJsonIsOneObjectPerLine) {
  fake_.audit_events = {Event(1, "a", v1::ALLOW), Event(2, "b", v1::ALLOW),
                        Event(3, "c", v1::ALLOW)};
  Result r = Run({"audit", "query", "--limit=1", "--newest", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("{\"id\":\"3\""));
  ASSERT_EQ(fake_.queries.size(), 1u);
  EXPECT_TRUE(fake_.queries[0].newest_first());
  EXPECT_EQ(fake_.queries[0].limit(), 1u);
}

TEST_F(ScopedctlTest, AuditBadFilterIsAUsageError) {
  Result r = Run({"audit", "query", "colour=blue"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("colour"));
  EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(fake_.queries.empty());
}

TEST_F(ScopedctlTest, AuditTailShowsTheLastEventsOldestFirstThenFollows) {
  fake_.audit_events = {Event(1, "a", v1::ALLOW), Event(2, "b", v1::ALLOW),
                        Event(3, "c", v1::HIDE)};
  fake_.audit_page = 10;
  Result r = Run({"audit", "tail", "-n", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[1], HasSubstr(" b"));
  EXPECT_THAT(lines[2], HasSubstr("hide"));
  EXPECT_TRUE(fake_.streams.empty());

  // -f: the stream resumes right after the last event shown (no gap, no
  // repeat); the fake ends the stream as a stopping daemon would.
  fake_.audit_events.push_back(Event(4, "d", v1::ALLOW));
  r = Run({"audit", "tail", "-f", "-n", "1", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.streams.size(), 1u);
  EXPECT_EQ(fake_.streams[0].after_id(), 4u);
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  r = Run({"audit", "tail", "--after=2", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake_.streams.back().after_id(), 2u);
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("\"id\":\"3\""));
}

// A daemon that sends raw bytes that are not UTF-8 (one from before audit
// strings were escaped): the answer cannot be parsed, and scopedctl says so
// (not that the daemon lacks the call), on one line; a stream that the
// daemon keeps open ends with that error instead of hanging.
TEST_F(ScopedctlTest, UndecodableAnswersAreReportedAsSuch) {
  fake_.audit_events = {Event(1, "ok", v1::ALLOW), Event(2, "a\xff\xfeb", v1::ALLOW)};
  fake_.audit_page = 10;
  fake_.stream_stays_open = true;
  const std::string decode =
      "scopedctl: error: cannot decode scopedfsd's answer to QueryAudit: it is not a valid "
      "scopedfs.v1 message (text fields must be UTF-8; a daemon that sends raw file names is "
      "older than this scopedctl)\n";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"audit", "query"}, {"audit", "query", "--json"},
        {"audit", "tail", "-n", "5"}}) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    Result r = Run(args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, decode);
    EXPECT_THAT(r.err, Not(HasSubstr("does not support")));
  }
  const auto t0 = std::chrono::steady_clock::now();
  Result r = Run({"audit", "tail", "--after=0"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, absl::StrReplaceAll(decode, {{"QueryAudit", "StreamAudit"}}));
  EXPECT_THAT(r.out, HasSubstr(" ok\n"));  // What came before is shown.
  // A daemon that really lacks a call still says so.
  fake_.forced = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  r = Run({"audit", "query"});
  ExpectOneError(r, "scopedfsd at unix:" + socket_ +
                        " does not support QueryAudit (is it older than this scopedctl?)");
  // (The fake has no owner calls: gRPC's own UNIMPLEMENTED.)
  fake_.forced = grpc::Status::OK;
  r = Run({"owner", "get", "x"});
  ExpectOneError(r, "scopedfsd at unix:" + socket_ +
                        " does not support GetOwner (is it older than this scopedctl?)");
}

// Defense in depth: a daemon that sends control characters in any string
// (names, process names, app, rule, error messages) never gets them to the
// terminal, and cannot forge rows.
TEST_F(ScopedctlTest, ControlCharactersFromTheDaemonNeverReachTheTerminal) {
  const std::string hostile[] = {"new\nline 99 2025-11-25T10:00:00.000Z 0 1/init - read allow",
                                 "\x1b[2J\x1b]0;title\x07", "c1\xc2\x9b" "31m", "rlo\xe2\x80\xaegpj",
                                 "del\x7f\rcr", "tab\tx"};
  fake_.audit_page = 100;
  uint64_t id = 0;
  for (const std::string& h : hostile) {
    v1::AuditEvent e = Event(++id, h, v1::ALLOW);
    e.set_comm("cm\x1b[1m\xc2\x9b\n");
    e.set_exe("/bin/" + h);
    e.set_app(h);
    e.set_rule_id(h);
    e.set_redaction(h);
    fake_.audit_events.push_back(e);
  }
  const size_t n = fake_.audit_events.size();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"audit", "query"}, {"audit", "query", "--json"},
        {"audit", "tail", "-n", "100"}, {"audit", "tail", "-n", "100", "--json"},
        {"audit", "tail", "--after=0"}}) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    Result r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(TerminalUnsafe(r.out), "");
    EXPECT_EQ(r.out.find('\t'), std::string::npos);
    const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
    EXPECT_EQ(Lines(r.out).size(), json ? n : n + 1) << r.out;  // no forged rows
    const std::string bs = json ? "\\\\" : "\\";  // JSON doubles the backslash
    EXPECT_THAT(r.out, HasSubstr("new" + bs + "x0aline"));
    EXPECT_THAT(r.out, HasSubstr(bs + "x1b[2J"));
    EXPECT_THAT(r.out, HasSubstr(bs + "u{009b}"));
    EXPECT_THAT(r.out, HasSubstr(bs + "u{202e}"));
  }
  // Error messages too.
  fake_.forced = grpc::Status(grpc::StatusCode::INTERNAL, "bad\x1b[2J\xc2\x9bname\r");
  Result r = Run({"audit", "query"});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "bad\\x1b[2J\\u{009b}name");
  // And status and explain fields.
  fake_.forced = grpc::Status::OK;
  fake_.health.set_mountpoint("/mnt/\x1b[2J");
  fake_.explain_response.mutable_decision()->set_reason("because\x1b]0;x\x07");
  fake_.explain_response.mutable_decision()->set_app("\xe2\x80\xae");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status"}, {"explain", "--uid=1", "--path=x", "--op=read"}}) {
    r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(TerminalUnsafe(r.out), "") << r.out;
  }
}

TEST_F(ScopedctlTest, StatusPrometheus) {
  fake_.stats.clear_counters();
  (*fake_.stats.mutable_counters())["decisions{operation=\"read\",decision=\"allow\"}"] = 7;
  (*fake_.stats.mutable_counters())["decisions{operation=\"read\",decision=\"deny\"}"] = 1;
  (*fake_.stats.mutable_counters())["audit_queue_depth"] = 3;
  fake_.stats.add_gauges("audit_queue_depth");
  v1::Histogram* h = fake_.stats.add_histograms();
  h->set_name("open_latency");
  h->add_bounds_seconds(0.001);
  h->add_bounds_seconds(0.002);
  h->add_counts(5);
  h->add_counts(2);
  h->add_counts(1);
  h->set_count(8);
  h->set_sum_seconds(0.25);
  Result r = Run({"status", "--prometheus"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("# TYPE scopedfs_decisions_total counter\n"
                               "scopedfs_decisions_total{operation=\"read\",decision=\"allow\"} 7\n"
                               "scopedfs_decisions_total{operation=\"read\",decision=\"deny\"} 1\n"));
  EXPECT_THAT(r.out, HasSubstr("# TYPE scopedfs_audit_queue_depth gauge\n"
                               "scopedfs_audit_queue_depth 3\n"));
  EXPECT_THAT(r.out, HasSubstr("# TYPE scopedfs_open_latency_seconds histogram\n"
                               "scopedfs_open_latency_seconds_bucket{le=\"0.001\"} 5\n"
                               "scopedfs_open_latency_seconds_bucket{le=\"0.002\"} 7\n"
                               "scopedfs_open_latency_seconds_bucket{le=\"+Inf\"} 8\n"
                               "scopedfs_open_latency_seconds_sum 0.25\n"
                               "scopedfs_open_latency_seconds_count 8\n"));
  EXPECT_THAT(r.out, HasSubstr("scopedfs_up 1\n"));
  // Every line is a comment or "name[{labels}] value".
  for (const std::string& line : Lines(r.out)) {
    if (line[0] == '#') continue;
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1) << line;
  }
}

// --- the command line -------------------------------------------------------

TEST_F(ScopedctlTest, UsageErrorsExit2WithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "no command given"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"policy"}, "policy needs a verb: get, validate, apply, diff, shadow or rules"},
      {{"policy", "put"},
       "unknown policy verb 'put': use get, validate, apply, diff, shadow or rules"},
      {{"policy", "apply"}, "policy apply needs a FILE"},
      {{"policy", "get", "extra"}, "unexpected argument 'extra' for 'policy get'"},
      {{"policy", "get", "--app=x"}, "--app does not apply to 'policy get'"},
      {{"status", "--expect-generation=3"}, "--expect-generation does not apply to 'status'"},
      {{"status", "--verbose"}, "unknown flag --verbose"},
      {{"status", "--timeout=-1"}, "--timeout must be a positive number of seconds"},
      {{"policy", "apply", "f", "--expect-generation=soon"},
       "invalid value 'soon' for --expect-generation"},
      {{"explain", "--path=x", "--op=read"}, "explain needs --app or --uid"},
      {{"explain", "--app=a", "--uid=1", "--path=x", "--op=read"},
       "--app and --uid exclude each other"},
      {{"explain", "--uid=-1", "--path=x", "--op=read"}, "invalid value '-1' for --uid"},
      {{"explain", "--app=a", "--op=read"}, "explain needs --path"},
      {{"explain", "--app=a", "--path=x"}, "explain needs --op"},
      {{"explain", "--app=a", "--path=x", "--op=chmod"},
       "unknown --op 'chmod': use lookup, read, write, create, delete, rename or setattr"},
      {{"explain", "--app=a", "--path=x", "--op"}, "--op needs a value"},
      {{"policy", "shadow"}, "policy shadow needs a FILE"},
      {{"policy", "shadow", "f", "--for=30"},
       "invalid value '30' for --for: use a duration like 30s, 10m, 1h or 2d"},
      {{"policy", "shadow", "f", "--for=1w"},
       "invalid value '1w' for --for: use a duration like 30s, 10m, 1h or 2d"},
      {{"policy", "shadow", "f", "--for=d"},
       "invalid value 'd' for --for: use a duration like 30s, 10m, 1h or 2d"},
      {{"policy", "shadow", "f", "--for="},
       "invalid value '' for --for: use a duration like 30s, 10m, 1h or 2d"},
      {{"policy", "shadow", "f", "--for=500ms"},
       "invalid value '500ms' for --for: at least 1s (leave the flag out for no end)"},
      {{"policy", "shadow", "f", "--for=-1h"},
       "invalid value '-1h' for --for: at least 1s (leave the flag out for no end)"},
      {{"policy", "shadow", "report", "x"}, "unexpected argument 'x' for 'policy shadow report'"},
      {{"policy", "shadow", "stop", "--top=3"}, "--top does not apply to 'policy shadow stop'"},
      {{"policy", "shadow", "report", "--top=many"}, "invalid value 'many' for --top"},
      {{"policy", "rules", "--revoke"}, "--revoke does not apply to 'policy rules'"},
      {{"status", "--revoke"}, "--revoke does not apply to 'status'"},
      {{"grant"}, "grant needs an APP and a PATH (or --uid=UID and a PATH)"},
      {{"grant", "gallery"}, "grant needs an APP and a PATH (or --uid=UID and a PATH)"},
      {{"grant", "--uid=1001"}, "grant needs a PATH"},
      {{"grant", "gallery", "DCIM", "--uid=1001"}, "grant takes an APP or --uid, not both"},
      {{"grant", "gallery", "DCIM", "x"}, "unexpected argument 'x' for 'grant'"},
      {{"grant", "", "DCIM"}, "grant: APP is empty"},
      {{"grant", "gallery", ""}, "grant: PATH is empty"},
      {{"grant", "gallery", "DCIM", "--ops=read,chmod"},
       "unknown operation 'chmod' in --ops: use read, write, create, delete, rename or setattr"},
      {{"grant", "gallery", "DCIM", "--ops=read,,write"},
       "empty operation in --ops: use read, write, create, delete, rename or setattr"},
      {{"grant", "gallery", "DCIM", "--ops=lookup"},
       "--ops: lookup is not granted on its own: every grant implies it"},
      {{"grant", "gallery", "DCIM", "--for=forever"},
       "invalid value 'forever' for --for: use a duration like 30s, 10m, 1h or 2d"},
      {{"grant", "gallery", "DCIM", "--profile=gps"}, "--profile needs --redacted"},
      {{"grant", "gallery", "DCIM", "--redacted", "--profile="}, "--profile is empty"},
      {{"grant", "gallery", "DCIM", "--op=read"}, "--op does not apply to 'grant'"},
      {{"revoke"}, "revoke needs an ID"},
      {{"revoke", "g1", "g2"}, "unexpected argument 'g2' for 'revoke'"},
      {{"grants", "--app=x"}, "--app does not apply to 'grants'"},
      {{"handles", "--app="}, "--app is empty"},
      {{"handles", "--uid=x"}, "invalid value 'x' for --uid"},
      {{"handles", "DCIM"}, "unexpected argument 'DCIM' for 'handles'"},
      {{"explain", "--app=a", "--path=x", "--op=read", "--shadow"},
       "--shadow does not apply to 'explain'"},
  };
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    Result r = Run(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "scopedctl: error: " + message + " (see scopedctl --help)\n");
  }
  EXPECT_EQ(fake_.calls, 0);
}

TEST_F(ScopedctlTest, HelpDocumentsTheCommands) {
  Result r = Run({"--help"}, "/dev/null", false);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  for (const char* text : {"policy get", "policy validate FILE", "policy apply FILE",
                           "--expect-generation", "policy diff FILE", "explain", "--op=",
                           "status", "--state_dir", "--socket", "--json", "--timeout",
                           "Examples:"}) {
    EXPECT_THAT(r.out, HasSubstr(text));
  }
}

// ---------------------------------------------------------------------------
// The line diff.

using tools::DiffLine;
using tools::DiffLines;
using tools::SplitLines;
using tools::UnifiedDiff;

TEST(TextDiffTest, SplitLines) {
  EXPECT_THAT(SplitLines(""), ElementsAre());
  EXPECT_THAT(SplitLines("a"), ElementsAre("a"));
  EXPECT_THAT(SplitLines("a\nb\n"), ElementsAre("a", "b"));
  EXPECT_THAT(SplitLines("a\n\nb"), ElementsAre("a", "", "b"));
  EXPECT_THAT(SplitLines("\n"), ElementsAre(""));
}

TEST(TextDiffTest, EqualTextsHaveNoDiff) {
  EXPECT_EQ(UnifiedDiff("", "", "a", "b"), "");
  EXPECT_EQ(UnifiedDiff("x\ny\n", "x\ny\n", "a", "b"), "");
  EXPECT_EQ(UnifiedDiff("x\ny", "x\ny\n", "a", "b"), "");
}

TEST(TextDiffTest, KeepsALongestCommonSubsequence) {
  EXPECT_THAT(DiffLines({"a", "b", "c"}, {"b", "c", "d"}),
              ElementsAre(DiffLine{DiffLine::kRemoved, "a"}, DiffLine{DiffLine::kSame, "b"},
                          DiffLine{DiffLine::kSame, "c"}, DiffLine{DiffLine::kAdded, "d"}));
  EXPECT_THAT(DiffLines({"a", "x", "b"}, {"a", "y", "b"}),
              ElementsAre(DiffLine{DiffLine::kSame, "a"}, DiffLine{DiffLine::kRemoved, "x"},
                          DiffLine{DiffLine::kAdded, "y"}, DiffLine{DiffLine::kSame, "b"}));
}

// Expected outputs below are what GNU diff -u prints.
TEST(TextDiffTest, NearbyChangesShareAHunk) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nb\nC\nd\ne\nf\ng\nh\nI\nj\n",
                        "old", "new"),
            "--- old\n+++ new\n"
            "@@ -1,10 +1,10 @@\n a\n b\n-c\n+C\n d\n e\n f\n g\n h\n-i\n+I\n j\n");
}

TEST(TextDiffTest, DistantChangesGetTheirOwnHunks) {
  std::string a, b;
  for (int i = 1; i <= 20; ++i) {
    absl::StrAppend(&a, i, "\n");
    absl::StrAppend(&b, i == 2 ? "two" : i == 18 ? "eighteen" : absl::StrCat(i), "\n");
  }
  EXPECT_EQ(UnifiedDiff(a, b, "old", "new"),
            "--- old\n+++ new\n"
            "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
            "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n");
}

TEST(TextDiffTest, EmptySidesAndEmptyRanges) {
  EXPECT_EQ(UnifiedDiff("", "x\ny\n", "old", "new"),
            "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+x\n+y\n");
  EXPECT_EQ(UnifiedDiff("x\ny\n", "", "old", "new"),
            "--- old\n+++ new\n@@ -1,2 +0,0 @@\n-x\n-y\n");
  EXPECT_EQ(UnifiedDiff("x\ny\n", "x\nz\ny\n", "old", "new", 0),
            "--- old\n+++ new\n@@ -1,0 +2 @@\n+z\n");
  EXPECT_EQ(UnifiedDiff("x\n", "y\nx\n", "old", "new"),
            "--- old\n+++ new\n@@ -1 +1,2 @@\n+y\n x\n");
}

// Any script must rebuild both sides, and keep as many lines as an LCS has.
size_t LcsLength(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<size_t>> t(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      t[i][j] = a[i - 1] == b[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
    }
  }
  return t[a.size()][b.size()];
}

void CheckScript(const std::vector<std::string>& a, const std::vector<std::string>& b,
                 const std::vector<DiffLine>& script) {
  std::vector<std::string> old_side, new_side;
  for (const DiffLine& l : script) {
    if (l.kind != DiffLine::kAdded) old_side.push_back(l.text);
    if (l.kind != DiffLine::kRemoved) new_side.push_back(l.text);
  }
  EXPECT_EQ(old_side, a);
  EXPECT_EQ(new_side, b);
}

TEST(TextDiffTest, RandomInputsGiveMinimalScripts) {
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> a(rng() % 12), b(rng() % 12);
    for (auto& l : a) l = std::string(1, static_cast<char>('a' + rng() % 4));
    for (auto& l : b) l = std::string(1, static_cast<char>('a' + rng() % 4));
    const std::vector<DiffLine> script = DiffLines(a, b);
    CheckScript(a, b, script);
    size_t same = 0;
    for (const DiffLine& l : script) same += l.kind == DiffLine::kSame;
    EXPECT_EQ(same, LcsLength(a, b));
  }
}

TEST(TextDiffTest, HugeInputsStillGiveACorrectScript) {
  // 5000 x 5000 lines in the middle exceed the table budget.
  std::vector<std::string> a = {"head"}, b = {"head"};
  for (int i = 0; i < 5000; ++i) {
    a.push_back(absl::StrCat("a", i));
    b.push_back(absl::StrCat("b", i));
  }
  a.push_back("tail");
  b.push_back("tail");
  const std::vector<DiffLine> script = DiffLines(a, b);
  CheckScript(a, b, script);
  EXPECT_EQ(script.front(), (DiffLine{DiffLine::kSame, "head"}));
  EXPECT_EQ(script.back(), (DiffLine{DiffLine::kSame, "tail"}));
}

// ---------------------------------------------------------------------------
// Per-command help, shell completion and colour.

// The environment without NO_COLOR and TERM, plus `extra` ("NAME=VALUE").
std::vector<std::string> Environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var = *e;
    if (var.rfind("NO_COLOR=", 0) == 0 || var.rfind("TERM=", 0) == 0) continue;
    env.push_back(var);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Runs `argv` with stdout on a pseudo-terminal (stderr to /dev/null) and the
// environment `env`. False if no pty can be had.
bool RunOnTty(std::vector<std::string> argv, std::vector<std::string> env, Result* result) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    if (master >= 0) close(master);
    return false;
  }
  const char* slave_name = ptsname(master);
  const int slave = slave_name == nullptr ? -1 : open(slave_name, O_RDWR | O_NOCTTY);
  if (slave < 0) {
    close(master);
    return false;
  }
  std::vector<char*> args, envp;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, slave, 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclose(&actions, master);
  pid_t pid;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(slave);
  if (rc != 0) {
    close(master);
    ADD_FAILURE() << "posix_spawn: " << std::strerror(rc);
    return true;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(master, buf, sizeof buf)) > 0) result->out.append(buf, n);  // EIO at the end.
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  result->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

// Runs a bash command line; its stdout (stderr too) and exit status.
Result RunBash(const std::string& script) {
  Result r;
  const std::string command = "bash -c '" + absl::StrReplaceAll(script, {{"'", "'\\''"}}) + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen: " << std::strerror(errno);
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string StripEscapes(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) ++i;
      continue;
    }
    out += s[i];
  }
  return out;
}

TEST_F(ScopedctlTest, EveryCommandHasItsOwnHelp) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"policy", "get"}, {}},
      {{"policy", "validate"}, {"FILE"}},
      {{"policy", "apply"}, {"FILE", "--expect-generation=N", "--revoke", "not revocable"}},
      {{"policy", "shadow"}, {"FILE", "--for=DURATION", "2d", "./report"}},
      {{"policy", "shadow", "report"}, {"--top=N", "(default)"}},
      {{"policy", "shadow", "stop"}, {"final report"}},
      {{"policy", "rules"}, {"never matched", "(default)", "grant"}},
      {{"grant"}, {"(APP | --uid=UID) PATH", "--ops=OPS", "--for=DURATION", "--redacted",
                   "--profile=NAME", "admin:grant-add:ID"}},
      {{"revoke"}, {"ID", "admin:grant-revoke:ID", "passthrough"}},
      {{"grants"}, {"never"}},
      {{"handles"}, {"--app=APP", "--uid=UID", "--path=PATH", "not revocable"}},
      {{"policy", "diff"}, {"FILE"}},
      {{"explain"}, {"--app=APP", "--uid=UID", "--gid=GID", "--path=PATH", "--op=OP",
                     "--owner", "lookup, read, write"}},
      {{"status"}, {"--prometheus", "scopedfs_rule_hits_total"}},
      {{"audit", "tail"}, {"-f, --follow", "-n N, --lines=N", "--after=ID", "app=", "decision=",
                           "--shadow"}},
      {{"audit", "query"}, {"--limit=N", "--newest", "since=TIME", "op=", "--shadow",
                            "shadow=VERDICT/RULE"}},
      {{"owner", "get"}, {"PATH", "escaped form", "no symlinks"}},
      {{"owner", "set"}, {"--uid=UID", "--gid=GID", "admin:owner-set:UID"}},
      {{"owner", "clear"}, {"PATH", "admin:owner-clear"}},
      {{"stats"}, {}},
      {{"completion"}, {"/usr/share/bash-completion/completions/scopedctl"}},
  };
  for (const auto& [words, texts] : cases) {
    const std::string name = absl::StrJoin(words, " ");
    SCOPED_TRACE(name);
    std::vector<std::string> args = words;
    args.push_back("--help");
    Result r = Run(args, "/dev/null", false);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, StartsWith("scopedctl " + name + ": "));
    EXPECT_THAT(r.out, HasSubstr("Usage: scopedctl " + name));
    const size_t examples = r.out.find("\nExamples:\n");
    ASSERT_NE(examples, std::string::npos) << r.out;
    EXPECT_THAT(r.out.substr(examples), HasSubstr("\n  scopedctl " + name));
    for (const std::string& text : texts) EXPECT_THAT(r.out, HasSubstr(text));
    // `help COMMAND` says the same; so does -h anywhere after the command.
    std::vector<std::string> help_args = {"help"};
    help_args.insert(help_args.end(), words.begin(), words.end());
    EXPECT_EQ(Run(help_args, "/dev/null", false).out, r.out);
    args.back() = "-h";
    EXPECT_EQ(Run(args).out, r.out);
  }
  // The global --help is the overview and points at the per-command help.
  Result r = Run({"--help"}, "/dev/null", false);
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("scopedctl COMMAND --help"));
  EXPECT_THAT(r.out, HasSubstr("--color=WHEN"));
  EXPECT_EQ(Run({"help"}).out, r.out);
  // A group lists its commands, each in full.
  r = Run({"audit", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: scopedctl audit tail"));
  EXPECT_THAT(r.out, HasSubstr("Usage: scopedctl audit query"));
  r = Run({"help", "frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "scopedctl: error: unknown command 'frobnicate' (see scopedctl --help)\n");
  r = Run({"policy", "put", "--help"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "scopedctl: error: unknown policy verb 'put': use get, validate, apply, diff, "
            "shadow or rules (see scopedctl --help)\n");
  EXPECT_EQ(fake_.calls, 0);
}

TEST_F(ScopedctlTest, BashCompletionScript) {
  Result r = Run({"completion", "bash"}, "/dev/null", false);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_FALSE(r.out.empty());
  for (const char* text : {"policy", "explain", "status", "stats", "audit", "completion",
                           "help", "'get validate apply diff shadow rules'", "'report stop'",
                           "'tail query'", "--expect-generation=", "--for=", "--ops=",
                           "--prometheus", "--follow", "--limit=", "--newest", "--color=",
                           "app= uid= path= op= decision= since= until=", "allow redacted deny hide",
                           "complete -F _scopedctl scopedctl"}) {
    EXPECT_THAT(r.out, HasSubstr(text));
  }
  EXPECT_EQ(fake_.calls, 0);
  const std::string script = WriteFile("scopedctl.bash", r.out);
  Result syntax = RunBash("bash -n " + script);
  EXPECT_EQ(syntax.code, 0) << syntax.out;

  // Completes as bash would call it: COMP_WORDS split at '=' as bash does,
  // $2 the part of the word bash replaces.
  auto complete = [&](const std::string& line, const std::vector<std::string>& words) {
    std::string quoted;
    for (const std::string& w : words) absl::StrAppend(&quoted, " \"", w, "\"");
    Result c = RunBash(absl::StrCat(
        "source ", script, "; COMP_WORDS=(", quoted, "); COMP_CWORD=", words.size() - 1,
        "; COMP_LINE=\"", line, "\"; COMP_POINT=", line.size(), "; w=${COMP_WORDS[COMP_CWORD]};",
        " [[ $w == = ]] && w=; _scopedctl scopedctl \"$w\" \"${COMP_WORDS[COMP_CWORD-1]}\";",
        " echo \"${COMPREPLY[*]}\""));
    EXPECT_EQ(c.code, 0) << c.out;
    return c.out;
  };
  EXPECT_EQ(complete("scopedctl au", {"scopedctl", "au"}), "audit\n");
  EXPECT_EQ(complete("scopedctl policy ap", {"scopedctl", "policy", "ap"}), "apply\n");
  EXPECT_EQ(complete("scopedctl audit tail dec", {"scopedctl", "audit", "tail", "dec"}),
            "decision=\n");
  EXPECT_EQ(complete("scopedctl audit query op=re",
                     {"scopedctl", "audit", "query", "op", "=", "re"}),
            "read rename\n");
  EXPECT_EQ(complete("scopedctl audit tail decision=allow,d",
                     {"scopedctl", "audit", "tail", "decision", "=", "allow,d"}),
            "allow,deny\n");
  EXPECT_EQ(complete("scopedctl status --pro", {"scopedctl", "status", "--pro"}),
            "--prometheus\n");
  EXPECT_EQ(complete("scopedctl --color=a", {"scopedctl", "--color", "=", "a"}),
            "auto always\n");
  EXPECT_EQ(complete("scopedctl policy validate " + dir_ + "/scopedctl.b",
                     {"scopedctl", "policy", "validate", dir_ + "/scopedctl.b"}),
            script + "\n");
  EXPECT_EQ(complete("scopedctl help audit q", {"scopedctl", "help", "audit", "q"}), "query\n");
  EXPECT_EQ(complete("scopedctl owner s", {"scopedctl", "owner", "s"}), "set\n");
  EXPECT_EQ(complete("scopedctl policy sh", {"scopedctl", "policy", "sh"}), "shadow\n");
  EXPECT_EQ(complete("scopedctl policy shadow re", {"scopedctl", "policy", "shadow", "re"}),
            "report\n");
  EXPECT_EQ(complete("scopedctl policy shadow " + dir_ + "/scopedctl.b",
                     {"scopedctl", "policy", "shadow", dir_ + "/scopedctl.b"}),
            script + "\n");
  EXPECT_EQ(complete("scopedctl policy shadow report --t",
                     {"scopedctl", "policy", "shadow", "report", "--t"}),
            "--timeout= --top=\n");
  EXPECT_EQ(complete("scopedctl policy shadow x --f",
                     {"scopedctl", "policy", "shadow", "x", "--f"}),
            "--for=\n");
  EXPECT_EQ(complete("scopedctl help policy shadow s",
                     {"scopedctl", "help", "policy", "shadow", "s"}),
            "stop\n");
  EXPECT_EQ(complete("scopedctl grant x y --re", {"scopedctl", "grant", "x", "y", "--re"}),
            "--redacted\n");
  EXPECT_EQ(complete("scopedctl audit query --sh", {"scopedctl", "audit", "query", "--sh"}),
            "--shadow\n");
  EXPECT_EQ(complete("scopedctl han", {"scopedctl", "han"}), "handles\n");
  EXPECT_EQ(complete("scopedctl owner set x --g", {"scopedctl", "owner", "set", "x", "--g"}),
            "--gid=\n");

  r = Run({"completion"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "scopedctl: error: completion needs a shell: bash (see scopedctl --help)\n");
  r = Run({"completion", "zsh"});
  EXPECT_EQ(r.code, 2);
}

TEST_F(ScopedctlTest, ColourOnlyWhenAskedOrOnATerminal) {
  fake_.audit_events = {Event(1, "DCIM/a.jpg", v1::ALLOW), Event(2, "DCIM/b.jpg", v1::DENY),
                        Event(3, "DCIM/c.jpg", v1::ALLOW_REDACTED)};
  fake_.audit_page = 10;
  // Piped (the test's stdout is a file): none, whatever NO_COLOR says.
  Result plain = Run({"audit", "query"});
  EXPECT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << plain.out;

  Result colour = Run({"audit", "query", "--color=always"});
  EXPECT_EQ(colour.code, 0) << colour.err;
  EXPECT_THAT(colour.out, HasSubstr("\x1b[32mallow\x1b[0m"));
  EXPECT_THAT(colour.out, HasSubstr("\x1b[31mdeny\x1b[0m"));
  EXPECT_THAT(colour.out, HasSubstr("\x1b[33mallow_redacted\x1b[0m"));
  // The escapes take no columns: the table is aligned as without them.
  EXPECT_EQ(StripEscapes(colour.out), plain.out);
  Result tail = Run({"audit", "tail", "--color"});  // --color alone: always.
  EXPECT_THAT(tail.out, HasSubstr("\x1b[31mdeny\x1b[0m"));
  EXPECT_EQ(StripEscapes(tail.out), Run({"audit", "tail"}).out);

  EXPECT_EQ(Run({"audit", "query", "--color=always", "--json"}).out.find('\x1b'),
            std::string::npos);
  EXPECT_EQ(Run({"audit", "query", "--color=never"}).out, plain.out);
  Result status = Run({"status", "--color=always"});
  EXPECT_THAT(status.out, HasSubstr("\x1b[32myes\x1b[0m"));
  Result bad = Run({"status", "--color=sometimes"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err,
            "scopedctl: error: invalid value 'sometimes' for --color: use auto, always or never "
            "(see scopedctl --help)\n");

  // On a terminal: colour by default, none with NO_COLOR (unless --color=always).
  const std::vector<std::string> query = {binary_, "--state_dir=" + dir_, "audit", "query"};
  Result tty;
  if (!RunOnTty(query, Environment({"TERM=xterm"}), &tty)) {
    GTEST_SKIP() << "no pseudo-terminal";
  }
  EXPECT_EQ(tty.code, 0);
  EXPECT_THAT(tty.out, HasSubstr("\x1b[31mdeny\x1b[0m"));
  Result no_color;
  ASSERT_TRUE(RunOnTty(query, Environment({"TERM=xterm", "NO_COLOR=1"}), &no_color));
  EXPECT_EQ(no_color.code, 0);
  EXPECT_THAT(no_color.out, HasSubstr("deny"));
  EXPECT_EQ(no_color.out.find('\x1b'), std::string::npos) << no_color.out;
  Result empty_no_color;  // NO_COLOR="" does not count (no-color.org).
  ASSERT_TRUE(RunOnTty(query, Environment({"TERM=xterm", "NO_COLOR="}), &empty_no_color));
  EXPECT_THAT(empty_no_color.out, HasSubstr("\x1b[31mdeny\x1b[0m"));
  Result dumb;
  ASSERT_TRUE(RunOnTty(query, Environment({"TERM=dumb"}), &dumb));
  EXPECT_EQ(dumb.out.find('\x1b'), std::string::npos) << dumb.out;
  std::vector<std::string> always = query;
  always.push_back("--color=always");
  Result forced;
  ASSERT_TRUE(RunOnTty(always, Environment({"TERM=xterm", "NO_COLOR=1"}), &forced));
  EXPECT_THAT(forced.out, HasSubstr("\x1b[31mdeny\x1b[0m"));
  std::vector<std::string> json = query;
  json.push_back("--json");
  Result tty_json;
  ASSERT_TRUE(RunOnTty(json, Environment({"TERM=xterm"}), &tty_json));
  EXPECT_EQ(tty_json.out.find('\x1b'), std::string::npos) << tty_json.out;
}

// --- issue 17: shadow policy, rule hits, grants, open handles ---------------

constexpr int64_t kT0 = 1764064800000000000;  // 2025-11-25T10:00:00Z

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::Handle MakeHandle(uint64_t id, uint32_t pid, const std::string& comm, const std::string& app,
                      const std::string& path, bool revocable) {
  v1::Handle h;
  h.set_id(id);
  h.set_uid(10123);
  h.set_gid(10123);
  h.set_pid(pid);
  h.set_comm(comm);
  h.set_app(app);
  h.set_path(path);
  h.set_opened_unix_nanos(kT0 + static_cast<int64_t>(id) * 1000000000);
  h.set_served_by(revocable ? "daemon" : "passthrough");
  h.set_revocable(revocable);
  return h;
}

void SetShadowReport(FakeAdmin& fake) {
  v1::ShadowReport& r = fake.shadow_report;
  r.set_active(true);
  r.set_since_unix_nanos(kT0);
  r.set_decisions(1200);
  r.set_differing(17);
  v1::ShadowReport::RulePair* p = r.add_pairs();
  p->set_enforced_rule_id("dcim-read");
  p->set_enforced(v1::ALLOW);
  p->set_shadow(v1::DENY);
  p->set_count(12);
  p = r.add_pairs();
  p->set_enforced(v1::DENY);
  p->set_shadow_rule_id("new-rule");
  p->set_shadow(v1::ALLOW);
  p->set_count(5);
  v1::ShadowReport::PathCount* c = r.add_top_paths();
  c->set_path("DCIM/a.jpg");
  c->set_count(4);
  c = r.add_top_paths();
  c->set_path("Download/x.pdf");
  c->set_count(1);
  r.set_paths_dropped(12);
  r.set_text("default_action: DENY\n");
}

constexpr char kShadowReportTables[] =
    "\n"
    "ENFORCED RULE      SHADOW RULE  VERDICTS       COUNT\n"
    "dcim-read      ->  (default)    allow -> deny     12\n"
    "(default)      ->  new-rule     deny -> allow      5\n"
    "\n"
    "DIFFERING  PATH\n"
    "        4  DCIM/a.jpg\n"
    "        1  Download/x.pdf\n"
    "12 more differing decisions on paths not counted\n";

TEST_F(ScopedctlTest, PolicyShadowInstallsWithADuration) {
  const std::string file = WriteFile("candidate.textproto", "default_action: HIDE\n");
  Result r = Run({"policy", "shadow", file, "--for=1h"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(fake_.shadow_sets.size(), 1u);
  EXPECT_EQ(fake_.shadow_sets[0].text(), "default_action: HIDE\n");
  EXPECT_EQ(fake_.shadow_sets[0].duration_seconds(), 3600u);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "shadow policy " + file + " installed (enforcement unchanged)");
  EXPECT_THAT(lines[1], ::testing::MatchesRegex("since    20[0-9-]+T[0-9:]+Z"));
  EXPECT_THAT(lines[2], ::testing::MatchesRegex(
                            "expires  20[0-9-]+T[0-9:]+Z \\(in (1h 0m 0s|59m 5[0-9]s)\\)"));

  // Durations: days too, rounded up to whole seconds; none: until stopped.
  for (const auto& [flag, seconds] : std::vector<std::pair<std::string, uint64_t>>{
           {"--for=2d", 172800}, {"--for=1d12h", 129600}, {"--for=90m", 5400},
           {"--for=1.5s", 2}, {"--for=30s", 30}}) {
    SCOPED_TRACE(flag);
    r = Run({"policy", "shadow", file, flag});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(fake_.shadow_sets.back().duration_seconds(), seconds);
  }
  r = Run({"policy", "shadow", "-"}, file);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake_.shadow_sets.back().duration_seconds(), 0u);
  EXPECT_EQ(fake_.shadow_sets.back().text(), "default_action: HIDE\n");
  EXPECT_THAT(r.out, StartsWith("shadow policy <stdin> installed"));
  EXPECT_THAT(r.out, HasSubstr("expires  never (until scopedctl policy shadow stop)\n"));

  // A policy the daemon refuses: one line, exit 1.
  const std::string bad = WriteFile("bad.textproto", "bogus: 1\n");
  r = Run({"policy", "shadow", bad});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  ExpectOneError(r, "shadow policy " + bad + " not installed: text: line 1: unknown field");
  // A file named like a verb is a file with ./.
  WriteFile("report", "default_action: ALLOW\n");
  const size_t sets = fake_.shadow_sets.size();
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(dir_.c_str()), 0);  // scopedctl runs in it.
  r = Run({"policy", "shadow", "./report"});
  ASSERT_EQ(chdir(cwd), 0);
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.shadow_sets.size(), sets + 1);
  EXPECT_EQ(fake_.shadow_sets.back().text(), "default_action: ALLOW\n");
}

TEST_F(ScopedctlTest, PolicyShadowReportAndStop) {
  SetShadowReport(fake_);
  Result r = Run({"policy", "shadow", "report"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("active     yes\n"
                               "since      2025-11-25T10:00:00Z\n"
                               "expires    never (until scopedctl policy shadow stop)\n"
                               "compared   1200 decisions\n"
                               "differing  17 (1.42%)\n") +
                       kShadowReportTables);
  ASSERT_EQ(fake_.shadow_gets.size(), 1u);
  EXPECT_EQ(fake_.shadow_gets[0].top_paths(), 10u);
  r = Run({"policy", "shadow", "report", "--top=3"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake_.shadow_gets.back().top_paths(), 3u);

  // With an end: when, and how long from now.
  fake_.shadow_report.set_expires_unix_nanos(NowNanos() + 600 * 1000000000LL);
  r = Run({"policy", "shadow", "report"});
  EXPECT_THAT(r.out, ::testing::ContainsRegex(
                         "expires    20[0-9T:-]+Z \\(in (10m 0s|9m 5[0-9]s)\\)"));

  r = Run({"policy", "shadow", "report", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out, StartsWith("{\"active\":true,\"since_unix_nanos\":\"1764064800000000000\""));
  EXPECT_THAT(r.out, HasSubstr("{\"enforced_rule_id\":\"\",\"enforced\":\"DENY\","
                               "\"shadow_rule_id\":\"new-rule\",\"shadow\":\"ALLOW\","
                               "\"count\":\"5\"}"));

  // stop: the final report (no longer active).
  fake_.shadow_report.set_expires_unix_nanos(kT0 + 3600 * 1000000000LL);
  r = Run({"policy", "shadow", "stop"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake_.shadow_clears, 1);
  EXPECT_EQ(r.out, std::string("shadow policy removed; its final report:\n"
                               "\n"
                               "active     no\n"
                               "since      2025-11-25T10:00:00Z\n"
                               "expires    2025-11-25T11:00:00Z\n"
                               "compared   1200 decisions\n"
                               "differing  17 (1.42%)\n") +
                       kShadowReportTables);

  // Nothing installed, or nothing different.
  fake_.shadow_report = v1::ShadowReport();
  r = Run({"policy", "shadow", "report"});
  EXPECT_EQ(r.out,
            "active     no (no shadow policy installed)\n"
            "since      -\n"
            "expires    -\n"
            "compared   0 decisions\n"
            "differing  0\n");
  fake_.shadow_report.set_active(true);
  fake_.shadow_report.set_since_unix_nanos(kT0);
  fake_.shadow_report.set_decisions(40);
  r = Run({"policy", "shadow", "report"});
  EXPECT_THAT(r.out, HasSubstr("differing  0 (0.00%)\n\nno differing decisions\n"));
}

TEST_F(ScopedctlTest, PolicyRules) {
  v1::GetRuleHitsResponse& hits = fake_.rule_hits;
  hits.set_generation(7);
  v1::RuleHits* h = hits.add_rules();
  h->set_rule_id("g1");
  h->set_rule_index(0);
  h->set_action(v1::ALLOW);
  h->set_allowed(3);
  h->set_last_hit_unix_nanos(kT0 + 61000000000);
  h->set_since_unix_nanos(kT0);
  h->set_grant(true);
  h = hits.add_rules();
  h->set_rule_id("dcim-read");
  h->set_rule_index(1);
  h->set_action(v1::ALLOW_REDACTED);
  h->set_allowed(120);
  h->set_redacted(7);
  h->set_denied(2);
  h->set_last_hit_unix_nanos(kT0 + 62000000000);
  h->set_since_unix_nanos(kT0);
  h = hits.add_rules();
  h->set_rule_id("old-rule");
  h->set_rule_index(2);
  h->set_action(v1::HIDE);
  h->set_since_unix_nanos(kT0);
  v1::RuleHits* d = hits.mutable_default_action();
  d->set_rule_index(-1);
  d->set_action(v1::DENY);
  d->set_denied(4);
  d->set_hidden(1);
  d->set_last_hit_unix_nanos(kT0 + 63000000000);
  d->set_since_unix_nanos(kT0);
  Result r = Run({"policy", "rules"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "generation 7\n"
            "RULE       ACTION          ALLOWED  REDACTED  DENIED  HIDDEN  LAST HIT"
            "              NOTE\n"
            "g1         allow                 3         0       0       0  2025-11-25T10:01:01Z"
            "  grant\n"
            "dcim-read  allow_redacted      120         7       2       0  2025-11-25T10:01:02Z\n"
            "old-rule   hide                  0         0       0       0  never                 "
            "never matched since 2025-11-25T10:00:00Z\n"
            "(default)  deny                  0         0       4       1  2025-11-25T10:01:03Z\n");
  r = Run({"policy", "rules", "--color=always"});
  EXPECT_THAT(r.out, HasSubstr("\x1b[33mnever matched since 2025-11-25T10:00:00Z\x1b[0m"));
  EXPECT_THAT(r.out, HasSubstr("\x1b[31mhide\x1b[0m"));
  r = Run({"policy", "rules", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out, StartsWith("{\"generation\":\"7\",\"rules\":[{\"rule_id\":\"g1\","));
  EXPECT_THAT(r.out, HasSubstr("\"default_action\":{\"rule_id\":\"\",\"rule_index\":-1,"));
}

TEST_F(ScopedctlTest, GrantSendsWhoPathOpsAndDuration) {
  v1::Grant* g = fake_.grant_added.mutable_grant();
  g->set_id("g3");
  g->set_app("gallery");
  g->set_path("DCIM/Camera");
  g->set_directory(true);
  g->add_operations(v1::READ);
  g->add_operations(v1::WRITE);
  g->set_created_unix_nanos(kT0);
  g->set_expires_unix_nanos(NowNanos() + 3600 * 1000000000LL);
  fake_.grant_added.set_generation(7);
  Result r = Run({"grant", "gallery", "/mnt/shared/DCIM/Camera", "--ops=READ,write,read",
                  "--for=1h"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.grant_adds.size(), 1u);
  const v1::AddGrantRequest& q = fake_.grant_adds[0];
  EXPECT_EQ(q.grant().who_case(), v1::Grant::kApp);
  EXPECT_EQ(q.grant().app(), "gallery");
  EXPECT_EQ(q.grant().path(), "DCIM/Camera");  // Made relative to the mount root.
  EXPECT_THAT(q.grant().operations(), ElementsAre(v1::READ, v1::WRITE));
  EXPECT_FALSE(q.grant().redacted());
  EXPECT_EQ(q.duration_seconds(), 3600u);
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 7u) << r.out;
  EXPECT_EQ(lines[0], "grant       g3");
  EXPECT_EQ(lines[1], "who         app gallery");
  EXPECT_EQ(lines[2], "path        DCIM/Camera (directory and everything below)");
  EXPECT_EQ(lines[3], "operations  read,write");
  EXPECT_EQ(lines[4], "redacted    no");
  EXPECT_THAT(lines[5], ::testing::MatchesRegex(
                            "expires     20[0-9T:-]+Z \\(in (1h 0m 0s|59m 5[0-9]s)\\)"));
  EXPECT_EQ(lines[6], "generation  7");

  // For a uid; redacted with a profile; no --ops: read; no --for: forever.
  g->clear_app();
  g->set_uid(1001);
  g->set_path("Pictures/a b.jpg");
  g->set_directory(false);
  g->clear_operations();
  g->set_redacted(true);
  g->set_redaction_profile("gps-only");
  g->set_expires_unix_nanos(0);
  r = Run({"grant", "--uid=1001", "Pictures/a b.jpg", "--redacted", "--profile=gps-only"});
  EXPECT_EQ(r.code, 0) << r.err;
  const v1::AddGrantRequest& u = fake_.grant_adds.back();
  EXPECT_EQ(u.grant().who_case(), v1::Grant::kUid);
  EXPECT_EQ(u.grant().uid(), 1001u);
  EXPECT_EQ(u.grant().path(), "Pictures/a b.jpg");
  EXPECT_THAT(u.grant().operations(), ElementsAre(v1::READ));
  EXPECT_TRUE(u.grant().redacted());
  EXPECT_EQ(u.grant().redaction_profile(), "gps-only");
  EXPECT_EQ(u.duration_seconds(), 0u);
  EXPECT_EQ(r.out,
            "grant       g3\n"
            "who         uid 1001\n"
            "path        Pictures/a b.jpg (file)\n"
            "operations  read\n"
            "redacted    yes (profile gps-only)\n"
            "expires     never\n"
            "generation  7\n");
  r = Run({"grant", "--uid=0", "x", "--ops=create,delete,rename,setattr", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake_.grant_adds.back().grant().uid(), 0u);  // uid 0 is a uid.
  EXPECT_EQ(fake_.grant_adds.back().grant().who_case(), v1::Grant::kUid);
  EXPECT_THAT(fake_.grant_adds.back().grant().operations(),
              ElementsAre(v1::CREATE, v1::DELETE, v1::RENAME, v1::SETATTR));
  EXPECT_THAT(r.out, StartsWith("{\"grant\":{\"id\":\"g3\","));
  EXPECT_EQ(Lines(r.out).size(), 1u);
  // The daemon's refusal, on one line.
  fake_.forced = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no app named galery");
  r = Run({"grant", "galery", "DCIM"});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "no app named galery");
}

TEST_F(ScopedctlTest, RevokeListsTheHandlesItHit) {
  v1::Grant* g = fake_.grant_revoked.mutable_grant();
  g->set_id("g3");
  g->set_app("gallery");
  g->set_path("DCIM/Camera");
  g->set_directory(true);
  fake_.grant_revoked.set_generation(8);
  *fake_.grant_revoked.add_revoked() = MakeHandle(12, 4242, "gallery", "gallery",
                                                  "DCIM/Camera/a.jpg", true);
  *fake_.grant_revoked.add_unrevocable() = MakeHandle(13, 4243, "gallery", "gallery",
                                                      "DCIM/Camera/b.mp4", false);
  Result r = Run({"revoke", "g3"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.grant_revokes.size(), 1u);
  EXPECT_EQ(fake_.grant_revokes[0].id(), "g3");
  EXPECT_EQ(r.out,
            "revoked grant g3 (app gallery, DCIM/Camera/, read)\n"
            "generation 8\n"
            "revoked 1 open handle\n"
            "revoked: pid 4242 (gallery) uid 10123 app gallery path DCIM/Camera/a.jpg\n"
            "kept open (passthrough, not revocable): pid 4243 (gallery) uid 10123 app gallery "
            "path DCIM/Camera/b.mp4\n");
  fake_.grant_revoked.clear_revoked();
  fake_.grant_revoked.clear_unrevocable();
  r = Run({"revoke", "g3"});
  EXPECT_EQ(r.out,
            "revoked grant g3 (app gallery, DCIM/Camera/, read)\n"
            "generation 8\n"
            "revoked 0 open handles\n");
  r = Run({"revoke", "g9"});
  EXPECT_EQ(r.code, 1);
  ExpectOneError(r, "no grant g9");
}

TEST_F(ScopedctlTest, GrantsTable) {
  const int64_t now = NowNanos();
  v1::Grant* g = fake_.grants.add_grants();
  g->set_id("g1");
  g->set_app("gallery");
  g->set_path("DCIM");
  g->set_directory(true);
  // 2h 0m 30s, or a second less by the time scopedctl looks: as wide.
  g->set_expires_unix_nanos(now + 7230 * 1000000000LL);
  g = fake_.grants.add_grants();
  g->set_id("g2");
  g->set_uid(1001);
  g->set_path("Download/x.pdf");
  g->add_operations(v1::READ);
  g->add_operations(v1::WRITE);
  g->set_redacted(true);
  g->set_created_by_uid(1000);
  g = fake_.grants.add_grants();
  g->set_id("g4");
  g->set_app("camera");
  g->set_path("");
  g->set_directory(true);
  g->set_expires_unix_nanos(now - 1000000000);
  Result r = Run({"grants"});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0],
            "ID  WHO          PATH            OPS         REDACTED                EXPIRES"
            "       CREATED BY");
  EXPECT_THAT(lines[1], ::testing::MatchesRegex(
                            "g1  app gallery  DCIM/           read        no                      "
                            "in 2h 0m (30|29)s  uid 0"));
  EXPECT_EQ(lines[2],
            "g2  uid 1001     Download/x.pdf  read,write  yes (strict allowlist)  never"
            "         uid 1000");
  EXPECT_THAT(lines[3], ::testing::StartsWith("g4  app camera   /               read        no"));
  EXPECT_THAT(lines[3], HasSubstr("expired"));
  r = Run({"grants", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"grants\":[{\"id\":\"g1\","));
}

TEST_F(ScopedctlTest, HandlesTableAndFilters) {
  *fake_.handles.add_handles() = MakeHandle(1, 4242, "gallery", "gallery", "DCIM/a.jpg", true);
  v1::Handle h = MakeHandle(2, 777, "", "", "Download/new x.pdf", false);
  h.set_write(true);
  h.set_redacted(false);
  *fake_.handles.add_handles() = h;
  h = MakeHandle(3, 4242, "gallery", "gallery", "DCIM/b.jpg", true);
  h.set_served_by("daemon-cached");
  h.set_redacted(true);
  h.set_revoked(true);
  h.set_direct_io(true);
  *fake_.handles.add_handles() = h;
  Result r = Run({"handles"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID   PID  COMM       UID  APP      MODE   SERVED BY                   REDACTED  "
            "REVOCABLE      REVOKED  SINCE                 PATH\n"
            " 1  4242  gallery  10123  gallery  read   daemon                      no        "
            "yes            no       2025-11-25T10:00:01Z  DCIM/a.jpg\n"
            " 2   777  -        10123  -        write  passthrough                 no        "
            "not revocable  no       2025-11-25T10:00:02Z  Download/new x.pdf\n"
            " 3  4242  gallery  10123  gallery  read   daemon-cached (direct I/O)  yes       "
            "yes            yes      2025-11-25T10:00:03Z  DCIM/b.jpg\n");
  ASSERT_EQ(fake_.handle_lists.size(), 1u);
  EXPECT_EQ(fake_.handle_lists[0].app(), "");
  EXPECT_FALSE(fake_.handle_lists[0].has_uid());
  EXPECT_EQ(fake_.handle_lists[0].path_prefix(), "");

  r = Run({"handles", "--app=gallery", "--uid=0", "--path=/mnt/shared/DCIM"});
  EXPECT_EQ(r.code, 0) << r.err;
  const v1::ListHandlesRequest& q = fake_.handle_lists.back();
  EXPECT_EQ(q.app(), "gallery");
  ASSERT_TRUE(q.has_uid());
  EXPECT_EQ(q.uid(), 0u);
  EXPECT_EQ(q.path_prefix(), "DCIM");
  r = Run({"handles", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.out, StartsWith("{\"handles\":[{\"id\":\"1\",\"uid\":10123,"));
  r = Run({"handles", "--color=always"});
  EXPECT_THAT(r.out, HasSubstr("\x1b[33mnot revocable\x1b[0m"));
}

TEST_F(ScopedctlTest, ApplyReportsRevokedAndUnrevocableHandles) {
  const std::string file = WriteFile("p.textproto", "default_action: HIDE\n");
  *fake_.apply_handles.add_revoked() = MakeHandle(1, 4242, "gallery", "gallery", "DCIM/a.jpg",
                                                  true);
  *fake_.apply_handles.add_revoked() = MakeHandle(2, 4242, "gallery", "gallery", "DCIM/b.jpg",
                                                  true);
  *fake_.apply_handles.add_unrevocable() = MakeHandle(3, 77, "player", "player", "Music/a.mp3",
                                                      false);
  Result r = Run({"policy", "apply", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "applied: generation 5\n"
            "revoked 2 open handles\n"
            "kept open (passthrough, not revocable): pid 77 (player) uid 10123 app player "
            "path Music/a.mp3\n");
  EXPECT_FALSE(fake_.applies.back().refuse_unrevocable());
  // --revoke: the daemon refuses; its message (listing the handles) on one line.
  r = Run({"policy", "apply", file, "--revoke"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(fake_.applies.back().refuse_unrevocable());
  ExpectOneError(r, "policy " + file +
                        " not applied: not applied: 1 open handle the daemon cannot revoke "
                        "would keep its access:; pid 77 (player) uid 10124 app player path "
                        "Music/a.mp3");
  EXPECT_EQ(fake_.generation, 5u);
  // Only revoked ones: no "kept open" line.
  fake_.apply_handles.clear_unrevocable();
  r = Run({"policy", "apply", file, "--revoke"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "applied: generation 6\nrevoked 2 open handles\n");
  r = Run({"policy", "apply", file, "--json"});
  EXPECT_THAT(r.out, StartsWith("{\"generation\":\"7\",\"revoked\":[{\"id\":\"1\","));
}

TEST_F(ScopedctlTest, AuditShadowFilterAndVerdicts) {
  v1::AuditEvent differs = Event(1, "DCIM/a.jpg", v1::ALLOW);
  differs.set_shadow_decision(v1::DENY);
  differs.set_shadow_rule_id("new-rule");
  v1::AuditEvent by_default = Event(2, "DCIM/b.jpg", v1::DENY);
  by_default.set_shadow_decision(v1::ALLOW);
  fake_.audit_events = {differs, by_default, Event(3, "DCIM/c.jpg", v1::ALLOW)};
  fake_.audit_page = 10;
  Result r = Run({"audit", "query", "--shadow", "app=gallery"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(fake_.queries.size(), 1u);
  EXPECT_TRUE(fake_.queries[0].filter().shadow_differs());
  EXPECT_EQ(fake_.queries[0].filter().apps(0), "gallery");
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[1], ::testing::EndsWith("  DCIM/a.jpg shadow=deny/new-rule"));
  EXPECT_THAT(lines[2], ::testing::EndsWith("  DCIM/b.jpg shadow=allow/(default)"));
  EXPECT_THAT(lines[3], ::testing::EndsWith("  DCIM/c.jpg"));
  r = Run({"audit", "query"});
  EXPECT_FALSE(fake_.queries.back().filter().shadow_differs());

  r = Run({"audit", "tail", "--shadow", "-n", "3"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fake_.queries.back().filter().shadow_differs());
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_THAT(lines[1], ::testing::EndsWith(" DCIM/a.jpg shadow=deny/new-rule"));
  r = Run({"audit", "tail", "--shadow", "--after=0"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fake_.streams.back().filter().shadow_differs());
  r = Run({"audit", "query", "--json"});
  EXPECT_THAT(r.out, HasSubstr("\"shadow_decision\":\"DENY\""));
  EXPECT_THAT(r.out, HasSubstr("\"shadow_rule_id\":\"new-rule\""));
}

TEST_F(ScopedctlTest, StatusPrometheusRuleHits) {
  fake_.stats.clear_counters();
  v1::RuleHits* h = fake_.stats.add_rule_hits();
  h->set_rule_id("dcim-read");
  h->set_rule_index(0);
  h->set_allowed(120);
  h->set_redacted(7);
  h->set_last_hit_unix_nanos(1764064800250000000);
  h = fake_.stats.add_rule_hits();
  h->set_rule_id("we\"ird\\id\n");
  h->set_rule_index(1);
  h = fake_.stats.add_rule_hits();
  h->set_rule_index(-1);
  h->set_denied(4);
  h->set_hidden(1);
  h->set_last_hit_unix_nanos(kT0);
  Result r = Run({"status", "--prometheus"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      HasSubstr("# HELP scopedfs_rule_hits_total Decisions per rule of the running policy "
                "(grants included; rule=\"(default)\": the default action) by what the caller "
                "got.\n"
                "# TYPE scopedfs_rule_hits_total counter\n"
                "scopedfs_rule_hits_total{rule=\"(default)\",outcome=\"allowed\"} 0\n"
                "scopedfs_rule_hits_total{rule=\"(default)\",outcome=\"denied\"} 4\n"
                "scopedfs_rule_hits_total{rule=\"(default)\",outcome=\"hidden\"} 1\n"
                "scopedfs_rule_hits_total{rule=\"(default)\",outcome=\"redacted\"} 0\n"
                "scopedfs_rule_hits_total{rule=\"dcim-read\",outcome=\"allowed\"} 120\n"
                "scopedfs_rule_hits_total{rule=\"dcim-read\",outcome=\"denied\"} 0\n"
                "scopedfs_rule_hits_total{rule=\"dcim-read\",outcome=\"hidden\"} 0\n"
                "scopedfs_rule_hits_total{rule=\"dcim-read\",outcome=\"redacted\"} 7\n"
                "scopedfs_rule_hits_total{rule=\"we\\\"ird\\\\id\\\\x0a\",outcome=\"allowed\"} "
                "0\n"));
  EXPECT_THAT(r.out, HasSubstr("# TYPE scopedfs_rule_last_hit_timestamp_seconds gauge\n"
                               "scopedfs_rule_last_hit_timestamp_seconds{rule=\"(default)\"} "
                               "1764064800\n"
                               "scopedfs_rule_last_hit_timestamp_seconds{rule=\"dcim-read\"} "
                               "1764064800.25\n"));
  // HELP and TYPE once per family; the rule never hit has no timestamp.
  for (const char* line : {"# TYPE scopedfs_rule_hits_total ", "# HELP scopedfs_rule_hits_total ",
                           "# TYPE scopedfs_rule_last_hit_timestamp_seconds ",
                           "# HELP scopedfs_rule_last_hit_timestamp_seconds "}) {
    const size_t first = r.out.find(line);
    EXPECT_NE(first, std::string::npos) << line;
    EXPECT_EQ(r.out.find(line, first + 1), std::string::npos) << line;
  }
  EXPECT_THAT(r.out, Not(HasSubstr("last_hit_timestamp_seconds{rule=\"we")));
  for (const std::string& line : Lines(r.out)) {
    if (line[0] == '#') continue;
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1) << line;
  }
  // No rule hits (an older daemon): no families at all.
  fake_.stats.clear_rule_hits();
  r = Run({"status", "--prometheus"});
  EXPECT_THAT(r.out, Not(HasSubstr("rule_")));
}

// Defense in depth, as for the audit trail: hostile strings in handles,
// grants, rule ids and shadow reports never reach the terminal.
TEST_F(ScopedctlTest, Issue17OutputIsTerminalSafe) {
  const std::string hostile = "x\n\x1b[2J\xc2\x9b\xe2\x80\xae\x7f";
  *fake_.handles.add_handles() = MakeHandle(1, 1, hostile, hostile, hostile, false);
  v1::Grant* g = fake_.grants.add_grants();
  g->set_id(hostile);
  g->set_app(hostile);
  g->set_path(hostile);
  g->set_redaction_profile(hostile);
  g->set_redacted(true);
  v1::RuleHits* h = fake_.rule_hits.add_rules();
  h->set_rule_id(hostile);
  SetShadowReport(fake_);
  fake_.shadow_report.mutable_pairs(0)->set_enforced_rule_id(hostile);
  fake_.shadow_report.mutable_top_paths(0)->set_path(hostile);
  *fake_.apply_handles.add_unrevocable() = MakeHandle(2, 2, hostile, hostile, hostile, false);
  const std::string file = WriteFile("p.textproto", "default_action: HIDE\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"handles"}, {"handles", "--json"}, {"grants"},
        {"grants", "--json"}, {"policy", "rules"}, {"policy", "rules", "--json"},
        {"policy", "shadow", "report"}, {"policy", "shadow", "report", "--json"},
        {"policy", "apply", file}, {"policy", "apply", file, "--json"}}) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    Result r = Run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(TerminalUnsafe(r.out), "");
    EXPECT_THAT(r.out, HasSubstr("x"));
  }
}

}  // namespace
}  // namespace scopedfs
