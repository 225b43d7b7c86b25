// AuditLog: the writer thread, counters, flush, wake-ups, owner persistence,
// retention.
#include "audit/audit_log.h"

#include <stdlib.h>
#include <unistd.h>

#include <optional>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/database.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::audit {
namespace {

// The files these records are about have no birth time (nor do the records).
constexpr auto kNoBirthTime = []() -> std::optional<int64_t> { return 0; };

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl =
      absl::StrCat(base != nullptr ? base : "/tmp", "/audit_log_XXXXXX");
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

Event MakeEvent(int thread, int i) {
  Event e;
  e.time_unix_nanos = absl::ToUnixNanos(absl::Now());
  e.uid = 1000 + thread;
  e.gid = 2000 + thread;
  e.pid = static_cast<uint32_t>(getpid());
  e.operation = v1::WRITE;
  e.open_flags = i;
  e.decision = v1::DENY;
  e.error = 13;
  e.policy_generation = 5;
  e.latency_nanos = static_cast<uint64_t>(i) * 3;
  e.path = absl::StrCat("t", thread, "/", i);
  e.app = absl::StrCat("app", thread);
  e.rule_id = "rule";
  return e;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = MakeTempDir() + "/audit.db"; }
  std::unique_ptr<AuditLog> Open(AuditLogOptions options = {}) {
    options.on_error = [this](const std::string& m) {
      errors_.fetch_add(1);
      fprintf(stderr, "on_error: %s\n", m.c_str());
    };
    auto log = AuditLog::Open(path_, std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }
  std::vector<v1::AuditEvent> All(AuditLog& log) {
    auto r = log.Query(v1::AuditFilter(), 0, 0, false, 1000000);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<v1::AuditEvent>{};
  }
  std::string path_;
  std::atomic<int> errors_{0};
};

TEST_F(AuditLogTest, FourThreadsSubmitEveryEventStoredOnce) {
  AuditLogOptions options;
  options.queue_capacity = 1 << 17;  // never full: all 100k must be stored
  auto log = Open(options);
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25000;
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!log->Submit(MakeEvent(t, i))) refused.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log->Flush(absl::Seconds(60)));
  EXPECT_EQ(refused.load(), 0);
  AuditLog::Counters c = log->counters();
  EXPECT_EQ(c.submitted, 100000u);
  EXPECT_EQ(c.stored, 100000u);
  EXPECT_EQ(c.dropped_queue_full, 0u);
  EXPECT_EQ(c.dropped_db_error, 0u);
  EXPECT_GE(c.batches, 1u);
  EXPECT_EQ(c.queue_depth, 0u);
  EXPECT_GT(c.db_live_bytes, 0u);
  EXPECT_GE(c.db_file_bytes, c.db_live_bytes);
  EXPECT_EQ(log->last_committed_id(), 100000u);

  std::vector<v1::AuditEvent> rows = All(*log);
  ASSERT_EQ(rows.size(), 100000u);
  std::vector<int> next(kThreads, 0);
  char comm[64] = {};
  {
    std::ifstream in("/proc/self/comm");
    in.getline(comm, sizeof(comm));
  }
  for (const v1::AuditEvent& e : rows) {
    std::vector<std::string> parts = absl::StrSplit(e.path(), '/');
    ASSERT_EQ(parts.size(), 2u) << e.path();
    int t, i;
    ASSERT_TRUE(absl::SimpleAtoi(parts[0].substr(1), &t));
    ASSERT_TRUE(absl::SimpleAtoi(parts[1], &i));
    ASSERT_LT(t, kThreads);
    ASSERT_EQ(i, next[t]) << "thread " << t << " out of order or duplicated";
    ++next[t];
    v1::AuditEvent want = ToProto(MakeEvent(t, i), e.id());
    want.set_time_unix_nanos(e.time_unix_nanos());
    want.set_comm(comm);
    want.set_exe(e.exe());
    ASSERT_EQ(e.SerializeAsString(), want.SerializeAsString())
        << e.ShortDebugString() << "\n" << want.ShortDebugString();
    ASSERT_FALSE(e.exe().empty());
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next[t], kPerThread);
  EXPECT_EQ(errors_.load(), 0);
}

TEST_F(AuditLogTest, TinyQueueDropsAndCountsEverything) {
  AuditLogOptions options;
  options.queue_capacity = 2;
  auto log = Open(options);
  ASSERT_NE(log, nullptr);
  std::vector<std::thread> threads;
  std::atomic<uint64_t> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25000; ++i) {
        if (log->Submit(MakeEvent(t, i))) accepted.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log->Flush(absl::Seconds(60)));
  AuditLog::Counters c = log->counters();
  EXPECT_EQ(c.submitted, 100000u);
  EXPECT_EQ(c.submitted, c.stored + c.dropped_queue_full);
  EXPECT_EQ(c.stored, accepted.load());
  EXPECT_GT(c.dropped_queue_full, 0u);
  EXPECT_EQ(c.dropped_db_error, 0u);
  EXPECT_EQ(All(*log).size(), c.stored);
}

TEST_F(AuditLogTest, CountersForUnstored) {
  auto log = Open();
  ASSERT_NE(log, nullptr);
  log->CountUnstored();
  log->CountUnstored();
  EXPECT_EQ(log->counters().unstored_by_rule, 2u);
  EXPECT_EQ(log->counters().submitted, 0u);
}

TEST_F(AuditLogTest, OwnerChangesSurviveDestroyAndReopen) {
  {
    auto log = Open();
    ASSERT_NE(log, nullptr);
    Owner o;
    o.app = "gallery";
    o.uid = 10123;
    o.dev = 1;
    o.ino = 77;
    log->owners().Set("DCIM/a.jpg", o);
    o.ino = 78;
    log->owners().Set("DCIM/b.jpg", o);
    o.app = "";
    o.uid = 1000;
    o.ino = 79;
    log->owners().Set("Download/x", o);
    log->owners().MoveTree("DCIM", "Pictures");
    log->owners().Remove("Pictures/b.jpg");
    // No Flush: destruction commits what is pending.
  }
  auto log = Open();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->owners().size(), 2u);
  EXPECT_TRUE(log->owners().IsOwner("Pictures/a.jpg", 1, 77, kNoBirthTime, 10123));
  EXPECT_FALSE(log->owners().IsOwner("DCIM/a.jpg", 1, 77, kNoBirthTime, 10123));
  EXPECT_TRUE(log->owners().IsOwner("Download/x", 1, 79, kNoBirthTime, 1000));
  EXPECT_EQ(log->counters().owners, 2u);
  // A stale record found at run time is dropped from the database too.
  EXPECT_FALSE(log->owners().IsOwner("Download/x", 1, 80, kNoBirthTime, 1000));
  ASSERT_TRUE(log->Flush(absl::Seconds(10)));
  auto db = Database::Open(path_, Database::Mode::kReadOnly);
  ASSERT_TRUE(db.ok()) << db.status();
  auto rows = (*db)->LoadOwners();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].first, "Pictures/a.jpg");
}

TEST_F(AuditLogTest, DestructionDrainsQueue) {
  {
    auto log = Open();
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 5000; ++i) ASSERT_TRUE(log->Submit(MakeEvent(0, i)));
  }
  auto log = Open();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(All(*log).size(), 5000u);
  EXPECT_EQ(log->last_committed_id(), 5000u);
  ASSERT_TRUE(log->Submit(MakeEvent(0, 1)));
  EXPECT_EQ(log->WaitForCommit(5000, absl::Seconds(10)), 5001u);
}

TEST_F(AuditLogTest, WaitForCommitWakesSoonAfterSubmit) {
  auto log = Open();
  ASSERT_NE(log, nullptr);
  // Times out without a commit.
  absl::Time start = absl::Now();
  EXPECT_EQ(log->WaitForCommit(0, absl::Milliseconds(50)), 0u);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));

  // The writer sleeps (its idle wait is 200 ms); a Submit must wake it,
  // not the timeout: most commits must land well within 50 ms.
  int fast = 0;
  for (int round = 0; round < 10; ++round) {
    absl::SleepFor(absl::Milliseconds(250));
    const uint64_t before = log->last_committed_id();
    start = absl::Now();
    ASSERT_TRUE(log->Submit(MakeEvent(0, round)));
    const uint64_t after = log->WaitForCommit(before, absl::Seconds(10));
    const absl::Duration took = absl::Now() - start;
    EXPECT_EQ(after, before + 1);
    if (took < absl::Milliseconds(50)) ++fast;
  }
  EXPECT_GE(fast, 7);

  // A waiter already waiting is woken by a commit from another thread.
  const uint64_t before = log->last_committed_id();
  std::thread submitter([&] {
    absl::SleepFor(absl::Milliseconds(100));
    log->Submit(MakeEvent(1, 1));
  });
  start = absl::Now();
  EXPECT_EQ(log->WaitForCommit(before, absl::Seconds(10)), before + 1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  submitter.join();
}

TEST_F(AuditLogTest, OwnerChangeWakesWriter) {
  auto log = Open();
  ASSERT_NE(log, nullptr);
  absl::SleepFor(absl::Milliseconds(250));
  Owner o;
  o.app = "g";
  log->owners().Set("f", o);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(log->Flush(absl::Seconds(10)));
  EXPECT_EQ(log->counters().owner_changes_pending, 0u);
  auto db = Database::Open(path_, Database::Mode::kReadOnly);
  ASSERT_TRUE(db.ok());
  auto rows = (*db)->LoadOwners();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(AuditLogTest, QueryWithFilter) {
  auto log = Open();
  ASSERT_NE(log, nullptr);
  for (int t = 0; t < 3; ++t) {
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Submit(MakeEvent(t, i)));
  }
  ASSERT_TRUE(log->Flush(absl::Seconds(10)));
  v1::AuditFilter f;
  f.add_apps("app1");
  f.set_path_prefix("t1");
  auto r = log->Query(f, 0, 0, true, 5);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].path(), "t1/9");
  EXPECT_EQ((*r)[4].path(), "t1/5");
}

TEST_F(AuditLogTest, RetentionByAgeRunsInTheWriter) {
  AuditLogOptions options;
  options.max_age = absl::Hours(1);
  auto log = Open(options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 10; ++i) {
    Event e = MakeEvent(0, i);
    e.time_unix_nanos = absl::ToUnixNanos(absl::Now() - absl::Hours(2));
    ASSERT_TRUE(log->Submit(std::move(e)));
  }
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Submit(MakeEvent(1, i)));
  ASSERT_TRUE(log->Flush(absl::Seconds(10)));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (log->counters().retention_deleted < 10 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(log->counters().retention_deleted, 10u);
  std::vector<v1::AuditEvent> rows = All(*log);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].id(), 11u);
}

TEST_F(AuditLogTest, OpenRefusesGarbage) {
  {
    std::ofstream out(path_);
    out << std::string(8192, 'x');
  }
  auto log = AuditLog::Open(path_, AuditLogOptions());
  EXPECT_FALSE(log.ok());
}

}  // namespace
}  // namespace scopedfs::audit
