// Policies through the Admin API against a real scopedfsd: one of 100,000
// rules works in every scopedctl command, one above the API's size bound is
// refused in words, and scopedctl and scopedfsd list the same errors for a
// bad policy file (one parser, policy/policy_text.h).
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/admin_limits.h"
#include "scopedfs/v1/admin.grpc.pb.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

using ::testing::ElementsAreArray;

std::string CtlBinary() {
  const char* srcdir = getenv("TEST_SRCDIR");
  return std::string(srcdir ? srcdir : ".") + "/scopedfs/tools/scopedctl";
}

struct CtlResult {
  int status = -1;
  std::string out;
  std::string err;
};

class AdminPolicyTest : public MountTest {
 protected:
  // scopedctl as root (the test's user) against this test's daemon.
  CtlResult Ctl(const std::string& args) {
    const std::string err_file = mnt_->Scratch("ctl.stderr");
    const ShellResult r = RunShell(absl::StrCat(CtlBinary(), " --state_dir=",
                                                mnt_->state_dir(), " ", args, " 2>", err_file));
    return {r.status, r.output, ReadFile(err_file)};
  }

  // Comment lines, then a valid policy: `bytes` long in all.
  std::string WritePaddedPolicy(const std::string& name, size_t bytes) {
    const std::string path = mnt_->Scratch(name);
    const std::string tail = "default_action: ALLOW\n";
    std::ofstream out(path, std::ios::binary);
    const std::string line = "# " + std::string(1021, 'x') + "\n";  // 1 KiB.
    size_t left = bytes - tail.size();
    for (; left >= line.size(); left -= line.size()) out << line;
    out << std::string(left, '\n') << tail;
    return path;
  }
};

TEST_F(AdminPolicyTest, APolicyOf100000RulesWorksInEveryCommand) {
  const std::string file = mnt_->Scratch("big.textproto");
  {
    std::ofstream out(file);
    out << "default_action: ALLOW\napps { name: \"gallery\" uids: 10100 }\n";
    for (int i = 0; i < 100000; ++i) {
      out << "rules { id: \"r" << i << "\" apps: \"gallery\" paths: \"dir" << i
          << "/**\" operations: READ action: DENY }\n";
    }
  }
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  ASSERT_GT(st.st_size, 4 << 20) << "above gRPC's default bound of 4 MB";

  CtlResult r = Ctl("policy validate " + file);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "policy " + file + " is valid\n");
  r = Ctl("policy apply " + file + " --expect-generation=1");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "applied: generation 2\n");
  // GetPolicy answers the text and the message (about 20 MB).
  r = Ctl("policy get");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "# generation 2\n")) << r.out.substr(0, 200);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '{'), 100001);
  EXPECT_NE(r.out.find("id: \"r99999\""), std::string::npos);
  r = Ctl("policy diff " + file);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "no differences (running generation 2)\n");
  r = Ctl("explain --uid=10100 --path=dir99999/a.jpg --op=read");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("DENY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("r99999 (rules[99999])"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(AdminPolicyTest, APolicyAboveTheBoundIsRefusedWithTheBoundInWords) {
  ASSERT_EQ(kAdminMaxMessageBytes, size_t{256} << 20) << "README states 256 MB";
  // 300 MB with the request's few bytes around the text.
  const std::string file = WritePaddedPolicy("huge.textproto", (size_t{300} << 20) - 16);
  CtlResult r = Ctl("policy apply " + file);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "scopedctl: error: policy " + file +
                       " not applied: the policy is 300 MB; the Admin API takes at most "
                       "256 MB\n");
  r = Ctl("policy validate " + file);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "scopedctl: error: " + file +
                       ": the policy is 300 MB; the Admin API takes at most 256 MB\n");
  r = Ctl("policy get");
  EXPECT_TRUE(absl::StartsWith(r.out, "# generation 1\n")) << r.out.substr(0, 200);
}

// The daemon's own bound is the one scopedctl checks against: a request
// just within it is served, one just above is refused by gRPC (a client
// without scopedctl's check sees RESOURCE_EXHAUSTED).
TEST_F(AdminPolicyTest, TheDaemonTakesRequestsUpToTheSameBound) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  auto stub = v1::Admin::NewStub(grpc::CreateCustomChannel(
      "unix:" + mnt_->AdminSocket(), grpc::InsecureChannelCredentials(), args));
  for (const bool above : {false, true}) {
    SCOPED_TRACE(above ? "above" : "within");
    // Blank lines, then a valid policy; the message exactly `want` bytes
    // (the text's tag and length prefix take a few).
    const size_t want = kAdminMaxMessageBytes + (above ? 1 : 0);
    v1::ValidatePolicyRequest request;
    request.set_text(std::string(want, '\n'));
    while (request.ByteSizeLong() != want) {
      const ptrdiff_t off = static_cast<ptrdiff_t>(want) -
                            static_cast<ptrdiff_t>(request.ByteSizeLong());
      request.mutable_text()->resize(request.text().size() + off, '\n');
    }
    request.mutable_text()->replace(0, 22, "default_action: ALLOW\n");
    ASSERT_EQ(request.ByteSizeLong(), want);
    v1::ValidatePolicyResponse response;
    grpc::ClientContext context;
    const grpc::Status st = stub->ValidatePolicy(&context, request, &response);
    if (above) {
      EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    } else {
      EXPECT_TRUE(st.ok()) << st.error_message();
      EXPECT_TRUE(response.valid());
    }
  }
}

// "PREFIX e1; e2; e3" as {e1, e2, e3}.
std::vector<std::string> ErrorList(absl::string_view line, absl::string_view prefix) {
  absl::ConsumeSuffix(&line, "\n");
  if (!absl::ConsumePrefix(&line, prefix)) return {absl::StrCat("<no prefix> ", line)};
  return absl::StrSplit(line, "; ");
}

TEST_F(AdminPolicyTest, ScopedctlAndScopedfsdListTheSameErrors) {
  // Errors of the text (the tokenizer goes on after a bad escape), and
  // errors of a policy that parses.
  const std::vector<std::string> parse_errors = {
      "line 2:16: Invalid escape sequence in string literal",
      "line 3:16: Invalid escape sequence in string literal",
      "line 4:7: Message type \"scopedfs.v1.Policy\" has no field named \"colour\"",
  };
  const std::vector<std::string> policy_errors = {
      "rules[0].id: must be set",
      "rules[1].apps[0]: unknown app 'nobody'",
      "rules[2].paths[0]: unbalanced '['",
      "rules[2].action: must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE)",
  };
  struct Case {
    std::string name, text;
    const std::vector<std::string>* errors;
  };
  const std::vector<Case> cases = {
      {"unparsable.textproto",
       "default_action: ALLOW\n"
       "rules { id: \"a\\q\" action: ALLOW }\n"
       "rules { id: \"b\\q\" action: ALLOW }\n"
       "colour: 1\n",
       &parse_errors},
      {"invalid.textproto",
       "default_action: ALLOW\n"
       "rules { id: \"\" action: ALLOW }\n"
       "rules { id: \"b\" apps: \"nobody\" action: ALLOW }\n"
       "rules { id: \"c\" paths: \"DCIM/[x\" }\n",
       &policy_errors},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = mnt_->Scratch(c.name);
    WriteFile(file, c.text);
    const std::vector<std::string>& errors = *c.errors;

    // scopedctl policy validate: one line per error.
    CtlResult r = Ctl("policy validate " + file);
    EXPECT_EQ(r.status, 1) << r.err;
    std::vector<std::string> listed;
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      listed.push_back(std::string(absl::StripPrefix(line, file + ": ")));
    }
    EXPECT_THAT(listed, ElementsAreArray(errors)) << r.out;
    // scopedctl policy apply: one line with them all.
    r = Ctl("policy apply " + file);
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(ErrorList(r.err, "scopedctl: error: policy " + file + " not applied: "),
                ElementsAreArray(errors));
    // scopedctl policy diff parses the file itself (it does not validate).
    if (c.errors == &parse_errors) {
      r = Ctl("policy diff " + file);
      EXPECT_EQ(r.status, 1);
      EXPECT_THAT(ErrorList(r.err, "scopedctl: error: " + file + ": "),
                  ElementsAreArray(errors));
    }

    // scopedfsd --check-config and a start with that --policy (a fresh
    // state dir, so the file is read).
    const std::string src = mnt_->Scratch("ck-src"), mnt = mnt_->Scratch("ck-mnt");
    mkdir(src.c_str(), 0755);
    mkdir(mnt.c_str(), 0755);
    const std::string state = mnt_->Scratch("state-" + c.name);
    const std::string daemon = absl::StrCat(DaemonBinary(), " --policy=", file,
                                            " --state_dir=", state, " ", src, " ", mnt);
    ShellResult d = RunShell(daemon + " --check-config 2>&1 >/dev/null");
    EXPECT_EQ(d.status, 2);
    EXPECT_THAT(ErrorList(d.output, "scopedfsd: error: policy: " + file + ": "),
                ElementsAreArray(errors));
    d = RunShell(daemon + " --foreground 2>&1 >/dev/null");
    EXPECT_EQ(d.status, 2);
    EXPECT_THAT(ErrorList(d.output, "scopedfsd: error: " + file + ": "),
                ElementsAreArray(errors));
    EXPECT_FALSE(IsFuseMounted(mnt));
  }
}

}  // namespace
}  // namespace scopedfs::testing
