// The audit filter as typed: every key, errors, times; Matches() agrees with
// Database::Query.
#include "audit/filter_text.h"

#include <stdlib.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/database.h"
#include "audit/escape.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::audit {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1764064800);  // 2025-11-25 10:00Z

v1::AuditFilter Parse(const std::string& text) {
  auto f = ParseFilterText(text, kNow);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status();
  return f.ok() ? *f : v1::AuditFilter();
}

std::string Error(const std::string& text) {
  auto f = ParseFilterText(text, kNow);
  EXPECT_FALSE(f.ok()) << text << " parsed as " << f->ShortDebugString();
  if (!f.ok()) {
    EXPECT_TRUE(absl::IsInvalidArgument(f.status())) << f.status();
  }
  return f.ok() ? "" : std::string(f.status().message());
}

int64_t Nanos(absl::Time t) { return absl::ToUnixNanos(t); }

TEST(FilterTextTest, EmptyMatchesAll) {
  v1::AuditFilter f = Parse("   ");
  EXPECT_EQ(f.ByteSizeLong(), 0u);
  auto g = ParseFilter({}, kNow);
  ASSERT_TRUE(g.ok());
}

TEST(FilterTextTest, EveryKey) {
  v1::AuditFilter f = Parse(
      "app=gallery,camera uid=1000,1001 path=DCIM/Camera op=open,create "
      "decision=allow,redacted,DENY,hide");
  ASSERT_EQ(f.apps_size(), 2);
  EXPECT_EQ(f.apps(0), "gallery");
  EXPECT_EQ(f.apps(1), "camera");
  ASSERT_EQ(f.uids_size(), 2);
  EXPECT_EQ(f.uids(0), 1000u);
  EXPECT_EQ(f.uids(1), 1001u);
  EXPECT_EQ(f.path_prefix(), "DCIM/Camera");
  ASSERT_EQ(f.operations_size(), 3);
  EXPECT_EQ(f.operations(0), v1::READ);
  EXPECT_EQ(f.operations(1), v1::WRITE);
  EXPECT_EQ(f.operations(2), v1::CREATE);
  ASSERT_EQ(f.decisions_size(), 4);
  EXPECT_EQ(f.decisions(0), v1::ALLOW);
  EXPECT_EQ(f.decisions(1), v1::ALLOW_REDACTED);
  EXPECT_EQ(f.decisions(2), v1::DENY);
  EXPECT_EQ(f.decisions(3), v1::HIDE);
  EXPECT_EQ(f.since_unix_nanos(), 0);
  EXPECT_EQ(f.until_unix_nanos(), 0);
}

TEST(FilterTextTest, EveryOperationAndCaseInsensitivity) {
  v1::AuditFilter f = Parse(
      "OP=Read,WRITE,create,delete,rename,setattr,lookup,open "
      "Decision=Allow_Redacted");
  std::vector<int> ops(f.operations().begin(), f.operations().end());
  EXPECT_EQ(ops, (std::vector<int>{v1::READ, v1::WRITE, v1::CREATE,
                                   v1::DELETE, v1::RENAME, v1::SETATTR,
                                   v1::LOOKUP}));  // "open" adds nothing new
  ASSERT_EQ(f.decisions_size(), 1);
  EXPECT_EQ(f.decisions(0), v1::ALLOW_REDACTED);
  // App names and paths keep their case.
  f = Parse("app=Gallery path=DCIM,x");
  EXPECT_EQ(f.apps(0), "Gallery");
  EXPECT_EQ(f.path_prefix(), "DCIM,x");
}

TEST(FilterTextTest, Times) {
  v1::AuditFilter f = Parse("since=2026-11-25T10:00:00Z until=@1795700000");
  EXPECT_EQ(f.since_unix_nanos(), int64_t{1795600800} * 1000000000);
  EXPECT_EQ(f.until_unix_nanos(), int64_t{1795700000} * 1000000000);
}

TEST(FilterTextTest, AbsoluteTimesExact) {
  v1::AuditFilter f =
      Parse("since=2025-11-25T09:00:00.5+01:00 until=@1764064800");
  EXPECT_EQ(f.since_unix_nanos(),
            Nanos(absl::FromUnixSeconds(1764057600)) + 500000000);
  EXPECT_EQ(f.until_unix_nanos(), Nanos(kNow));
}

TEST(FilterTextTest, RelativeTimes) {
  EXPECT_EQ(Parse("since=10m").since_unix_nanos(),
            Nanos(kNow - absl::Minutes(10)));
  EXPECT_EQ(Parse("since=2h30m").since_unix_nanos(),
            Nanos(kNow - absl::Minutes(150)));
  EXPECT_EQ(Parse("since=1d").since_unix_nanos(),
            Nanos(kNow - absl::Hours(24)));
  EXPECT_EQ(Parse("since=2d12h until=1h").since_unix_nanos(),
            Nanos(kNow - absl::Hours(60)));
  EXPECT_EQ(Parse("since=2d12h until=1h").until_unix_nanos(),
            Nanos(kNow - absl::Hours(1)));
  EXPECT_EQ(Parse("since=90s").since_unix_nanos(),
            Nanos(kNow - absl::Seconds(90)));
}

TEST(FilterTextTest, Errors) {
  EXPECT_EQ(Error("foo=1"),
            "unknown key \"foo\" in \"foo=1\" (expected app, uid, path, op, "
            "decision, since, until)");
  EXPECT_NE(Error("gallery").find("\"gallery\" is not KEY=VALUE"),
            std::string::npos);
  EXPECT_NE(Error("=x").find("not KEY=VALUE"), std::string::npos);
  EXPECT_NE(Error("uid=abc").find("bad uid \"abc\" in \"uid=abc\""),
            std::string::npos);
  EXPECT_NE(Error("uid=-1").find("bad uid"), std::string::npos);
  EXPECT_NE(Error("uid=99999999999").find("bad uid"), std::string::npos);
  EXPECT_NE(Error("op=open,frob").find("unknown op \"frob\" in \"op=open,frob\""),
            std::string::npos);
  EXPECT_NE(Error("decision=maybe").find("unknown decision \"maybe\""),
            std::string::npos);
  EXPECT_NE(Error("since=yesterday").find("bad time \"yesterday\" in "
                                          "\"since=yesterday\""),
            std::string::npos);
  for (const char* bad : {"since=10", "since=-5m", "since=@abc", "since=d",
                          "since=1x", "since=2026-13-01T00:00:00Z",
                          "until=@-5", "since=inf"}) {
    EXPECT_NE(Error(bad).find("bad time"), std::string::npos) << bad;
  }
  EXPECT_NE(Error("app=a app=b").find("given twice"), std::string::npos);
  EXPECT_NE(Error("APP=a app=b").find("given twice"), std::string::npos);
  EXPECT_NE(Error("app=").find("empty value"), std::string::npos);
  EXPECT_NE(Error("app=a,,b").find("empty value"), std::string::npos);
  EXPECT_NE(Error("since=1h until=2h").find("since is not before until"),
            std::string::npos);
}

TEST(FilterTextTest, MatchesBasics) {
  v1::AuditEvent e;
  e.set_app("gallery");
  e.set_uid(1000);
  e.set_path("DCIM/a.jpg");
  e.set_operation(v1::READ);
  e.set_decision(v1::ALLOW);
  e.set_time_unix_nanos(Nanos(kNow - absl::Minutes(5)));
  EXPECT_TRUE(Matches(Parse(""), e));
  EXPECT_TRUE(Matches(Parse("app=camera,gallery"), e));
  EXPECT_FALSE(Matches(Parse("app=camera"), e));
  EXPECT_TRUE(Matches(Parse("uid=1000"), e));
  EXPECT_FALSE(Matches(Parse("uid=1001"), e));
  EXPECT_TRUE(Matches(Parse("path=DCIM"), e));
  EXPECT_TRUE(Matches(Parse("path=DCIM/"), e));
  EXPECT_TRUE(Matches(Parse("path=DCIM/a.jpg"), e));
  EXPECT_FALSE(Matches(Parse("path=DCI"), e));
  EXPECT_FALSE(Matches(Parse("path=DCIM/a"), e));
  e.set_path("DCIMX/a.jpg");
  EXPECT_FALSE(Matches(Parse("path=DCIM"), e));
  EXPECT_TRUE(Matches(Parse("op=open"), e));
  EXPECT_FALSE(Matches(Parse("op=write"), e));
  EXPECT_TRUE(Matches(Parse("decision=allow"), e));
  EXPECT_FALSE(Matches(Parse("decision=deny,hide"), e));
  EXPECT_TRUE(Matches(Parse("since=10m"), e));
  EXPECT_FALSE(Matches(Parse("since=1m"), e));
  EXPECT_TRUE(Matches(Parse("until=1m"), e));
  EXPECT_FALSE(Matches(Parse("until=10m"), e));
}

TEST(FilterTextTest, PathIsTakenInTheEscapedForm) {
  EXPECT_EQ(Parse("path=new\\x0aline").path_prefix(), "new\\x0aline");
  EXPECT_EQ(Parse("path=back\\\\slash").path_prefix(), "back\\\\slash");
  // Raw control characters and non-UTF-8 bytes, as a shell may pass them,
  // are escaped while parsing.
  auto raw = ParseFilter({"path=a\nb\xff\x1b[2J"}, kNow);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->path_prefix(), "a\\x0ab\\xff\\x1b[2J");
  // Kept canonical: what events show.
  EXPECT_EQ(Parse("path=\\x44CIM\\x2f\\x0A").path_prefix(), "DCIM/\\x0a");
  EXPECT_EQ(Parse("path=\\x2f").path_prefix(), "/");
  EXPECT_NE(Error("path=a\\qb").find("bad path"), std::string::npos);
  EXPECT_NE(Error("path=a\\").find("bad path"), std::string::npos);

  // Matches compares the bytes both stand for (events travel escaped).
  v1::AuditEvent e;
  e.set_path(Escape("new\nline/x\xff"));
  EXPECT_TRUE(Matches(Parse("path=new\\x0aline"), e));
  EXPECT_TRUE(Matches(Parse("path=new\\x0Aline"), e));
  EXPECT_TRUE(Matches(Parse("path=\\x6eew\\x0aline/x\\xff"), e));
  EXPECT_FALSE(Matches(Parse("path=new\\x0alin"), e));
  EXPECT_FALSE(Matches(Parse("path=newline"), e));
}

// Property: on random events and random filters, Matches() selects exactly
// what Database::Query returns.
TEST(FilterTextTest, MatchesAgreesWithDatabaseQuery) {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl =
      absl::StrCat(base != nullptr ? base : "/tmp", "/audit_filter_XXXXXX");
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  auto db = Database::Open(tmpl + "/audit.db", Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok()) << db.status();

  std::mt19937 rng(2024);
  const std::vector<std::string> apps = {"", "gallery", "camera", "notes"};
  const std::vector<std::string> paths = {
      "", "DCIM", "DCIM/a.jpg", "DCIMX", "DCIMX/b", "DCIM/Camera/c.jpg",
      "DCIM.bak", "Documents/d", "DCIM/Camera", "a/b/c", "a"};
  std::vector<Event> events;
  for (int i = 0; i < 300; ++i) {
    Event e;
    e.app = apps[rng() % apps.size()];
    e.uid = 1000 + rng() % 4;
    e.path = paths[rng() % paths.size()];
    e.operation = 1 + rng() % 7;
    e.decision = 1 + rng() % 4;
    e.time_unix_nanos = 1000 + rng() % 100;
    events.push_back(e);
  }
  ASSERT_TRUE((*db)->Commit(events, {}).ok());
  std::vector<v1::AuditEvent> stored;
  for (size_t i = 0; i < events.size(); ++i) {
    stored.push_back(ToProto(events[i], i + 1));
  }

  const std::vector<std::string> prefixes = {
      "DCIM", "DCIM/", "/DCIM", "DCIMX", "DCIM/Camera", "a", "a/b", "DC", "x"};
  for (int round = 0; round < 300; ++round) {
    v1::AuditFilter f;
    if (rng() % 3 == 0) {
      for (int k = rng() % 3; k >= 0; --k) f.add_apps(apps[rng() % apps.size()]);
    }
    if (rng() % 3 == 0) {
      for (int k = rng() % 3; k >= 0; --k) f.add_uids(1000 + rng() % 5);
    }
    if (rng() % 3 == 0) f.set_path_prefix(prefixes[rng() % prefixes.size()]);
    if (rng() % 3 == 0) {
      for (int k = rng() % 3; k >= 0; --k) {
        f.add_operations(static_cast<v1::Operation>(1 + rng() % 7));
      }
    }
    if (rng() % 3 == 0) {
      for (int k = rng() % 2; k >= 0; --k) {
        f.add_decisions(static_cast<v1::Action>(1 + rng() % 4));
      }
    }
    if (rng() % 3 == 0) f.set_since_unix_nanos(1000 + rng() % 100);
    if (rng() % 3 == 0) f.set_until_unix_nanos(1000 + rng() % 100);

    std::vector<uint64_t> want;
    for (const v1::AuditEvent& e : stored) {
      if (Matches(f, e)) want.push_back(e.id());
    }
    auto got = (*db)->Query(f, 0, 0, false, 100000);
    ASSERT_TRUE(got.ok()) << got.status();
    std::vector<uint64_t> got_ids;
    for (const auto& e : *got) got_ids.push_back(e.id());
    ASSERT_EQ(got_ids, want) << f.ShortDebugString();
  }
}

}  // namespace
}  // namespace scopedfs::audit
