// audit::Database: schema, round trips, filters, pagination, ids, owners,
// refusal of foreign files, concurrent readers, retention.
#include "tests/file_util.h"
#include "audit/database.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <optional>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/event.h"
#include "audit/filter_text.h"
#include "audit/owners.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::audit {
namespace {

// The files these records are about have no birth time (nor do the records).
constexpr auto kNoBirthTime = []() -> std::optional<int64_t> { return 0; };

using ::scopedfs::testing::ReadFile;
using ::scopedfs::testing::WriteFile;

using Mode = Database::Mode;

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp",
                                  "/audit_db_XXXXXX");
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

Event MakeEvent(int i) {
  Event e;
  e.time_unix_nanos = int64_t{1764064800} * 1000000000 + i * int64_t{1000};
  e.uid = 1000 + i % 3;
  e.gid = 100 + i;
  e.pid = 4000 + i;
  e.operation = v1::READ;
  e.open_flags = 02 | 0100;
  e.decision = v1::ALLOW;
  e.error = 0;
  e.policy_generation = 7;
  e.latency_nanos = 1234 + i;
  e.path = absl::StrCat("DCIM/img", i, ".jpg");
  e.app = "gallery";
  e.rule_id = "r1";
  e.comm = "proc";
  e.exe = "/usr/bin/proc";
  return e;
}

std::vector<uint64_t> IdsOf(const std::vector<v1::AuditEvent>& events) {
  std::vector<uint64_t> ids;
  for (const auto& e : events) ids.push_back(e.id());
  return ids;
}

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    path_ = dir_ + "/audit.db";
  }
  std::unique_ptr<Database> OpenRw() {
    auto db = Database::Open(path_, Mode::kReadWrite);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }
  std::vector<uint64_t> QueryIds(Database& db, const v1::AuditFilter& f) {
    auto r = db.Query(f, 0, 0, false, 1000000);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? IdsOf(*r) : std::vector<uint64_t>{};
  }
  int64_t RawPragma(const std::string& pragma) {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY,
                              nullptr),
              SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(raw, ("PRAGMA " + pragma).c_str(), -1, &s,
                                 nullptr),
              SQLITE_OK);
    int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(raw);
    return v;
  }
  std::string dir_;
  std::string path_;
};

TEST_F(DatabaseTest, FreshFileSettings) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(RawPragma("auto_vacuum"), 2);  // INCREMENTAL
  EXPECT_EQ(RawPragma("user_version"), 4);
  EXPECT_NE(RawPragma("application_id"), 0);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(raw);
  auto last = db->LastId();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 0u);
}

TEST_F(DatabaseTest, CommitQueryRoundTripsEveryField) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  std::vector<Event> events;
  for (int i = 0; i < 3; ++i) events.push_back(MakeEvent(i));
  events[1].operation = v1::CREATE;
  events[1].decision = v1::DENY;
  events[1].error = 13;
  events[1].rule_id = "";
  events[1].app = "";
  events[1].comm = "";
  events[1].exe = "";
  events[2].policy_generation = ~uint64_t{0};  // beyond int64
  events[2].latency_nanos = uint64_t{1} << 63;
  events[2].uid = 0xfffffffeu;
  events[2].path = "weird/pa'th \"with\" % _ and\xc3\xa9 \xff bytes";
  auto last = db->Commit(events, {});
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, 3u);
  auto none = db->Commit({}, {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 3u);

  auto got = db->Query(v1::AuditFilter(), 0, 0, false, 100);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const v1::AuditEvent want = ToProto(events[i], i + 1);
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(want, (*got)[i]))
        << "want " << want.ShortDebugString() << "\ngot "
        << (*got)[i].ShortDebugString();
  }
  auto id = db->LastId();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 3u);
}

TEST_F(DatabaseTest, EveryFilterKind) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  std::vector<Event> ev(6);
  for (int i = 0; i < 6; ++i) ev[i] = MakeEvent(i);
  ev[0].app = "gallery"; ev[0].uid = 1000; ev[0].path = "DCIM";
  ev[1].app = "camera";  ev[1].uid = 1001; ev[1].path = "DCIM/a.jpg";
  ev[2].app = "";        ev[2].uid = 1002; ev[2].path = "DCIMX/b.jpg";
  ev[3].app = "gallery"; ev[3].uid = 1000; ev[3].path = "DCIM/Camera/c.jpg";
  ev[4].app = "notes";   ev[4].uid = 1003; ev[4].path = "Documents/d.txt";
  ev[5].app = "camera";  ev[5].uid = 1001; ev[5].path = "DCIM.bak";
  ev[0].operation = v1::LOOKUP; ev[1].operation = v1::READ;
  ev[2].operation = v1::WRITE;  ev[3].operation = v1::CREATE;
  ev[4].operation = v1::DELETE; ev[5].operation = v1::RENAME;
  ev[0].decision = v1::ALLOW; ev[1].decision = v1::ALLOW_REDACTED;
  ev[2].decision = v1::DENY;  ev[3].decision = v1::HIDE;
  ev[4].decision = v1::ALLOW; ev[5].decision = v1::DENY;
  for (int i = 0; i < 6; ++i) ev[i].time_unix_nanos = 1000 * (i + 1);
  ASSERT_TRUE(db->Commit(ev, {}).ok());

  using Ids = std::vector<uint64_t>;
  v1::AuditFilter f;
  EXPECT_EQ(QueryIds(*db, f), (Ids{1, 2, 3, 4, 5, 6}));
  f.add_apps("camera");
  EXPECT_EQ(QueryIds(*db, f), (Ids{2, 6}));
  f.add_apps("");
  EXPECT_EQ(QueryIds(*db, f), (Ids{2, 3, 6}));

  f.Clear();
  f.add_uids(1000);
  f.add_uids(1003);
  EXPECT_EQ(QueryIds(*db, f), (Ids{1, 4, 5}));

  f.Clear();
  f.set_path_prefix("DCIM");
  EXPECT_EQ(QueryIds(*db, f), (Ids{1, 2, 4}));
  f.set_path_prefix("DCIM/");
  EXPECT_EQ(QueryIds(*db, f), (Ids{1, 2, 4}));
  f.set_path_prefix("DCIMX");
  EXPECT_EQ(QueryIds(*db, f), (Ids{3}));
  f.set_path_prefix("DCIM/Camera");
  EXPECT_EQ(QueryIds(*db, f), (Ids{4}));
  f.set_path_prefix("DCI");
  EXPECT_EQ(QueryIds(*db, f), (Ids{}));

  f.Clear();
  f.add_operations(v1::READ);
  f.add_operations(v1::WRITE);
  EXPECT_EQ(QueryIds(*db, f), (Ids{2, 3}));

  f.Clear();
  f.add_decisions(v1::DENY);
  EXPECT_EQ(QueryIds(*db, f), (Ids{3, 6}));

  f.Clear();
  f.set_since_unix_nanos(2000);
  EXPECT_EQ(QueryIds(*db, f), (Ids{2, 3, 4, 5, 6}));
  f.set_until_unix_nanos(4000);  // exclusive
  EXPECT_EQ(QueryIds(*db, f), (Ids{2, 3}));
  f.set_since_unix_nanos(0);
  EXPECT_EQ(QueryIds(*db, f), (Ids{1, 2, 3}));

  // Everything together.
  f.Clear();
  f.add_apps("camera");
  f.set_path_prefix("DCIM");
  f.add_decisions(v1::ALLOW_REDACTED);
  f.set_since_unix_nanos(1);
  EXPECT_EQ(QueryIds(*db, f), (Ids{2}));
}

TEST_F(DatabaseTest, PaginationByIdBothOrders) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  std::vector<Event> ev;
  for (int i = 0; i < 10; ++i) ev.push_back(MakeEvent(i));
  ASSERT_TRUE(db->Commit(ev, {}).ok());
  using Ids = std::vector<uint64_t>;
  v1::AuditFilter all;
  auto page = [&](uint64_t after, uint64_t before, bool newest, size_t n) {
    auto r = db->Query(all, after, before, newest, n);
    EXPECT_TRUE(r.ok());
    return r.ok() ? IdsOf(*r) : Ids{};
  };
  EXPECT_EQ(page(0, 0, false, 3), (Ids{1, 2, 3}));
  EXPECT_EQ(page(3, 0, false, 3), (Ids{4, 5, 6}));
  EXPECT_EQ(page(9, 0, false, 3), (Ids{10}));
  EXPECT_EQ(page(10, 0, false, 3), (Ids{}));
  EXPECT_EQ(page(0, 0, true, 3), (Ids{10, 9, 8}));
  EXPECT_EQ(page(0, 8, true, 3), (Ids{7, 6, 5}));
  EXPECT_EQ(page(0, 2, true, 3), (Ids{1}));
  EXPECT_EQ(page(3, 7, false, 100), (Ids{4, 5, 6}));
  EXPECT_EQ(page(3, 7, true, 2), (Ids{6, 5}));
  EXPECT_EQ(page(0, 0, false, 0), (Ids{}));
  // Walk all pages.
  Ids walked;
  uint64_t before = 0;
  for (;;) {
    Ids p = page(0, before, true, 4);
    if (p.empty()) break;
    walked.insert(walked.end(), p.begin(), p.end());
    before = p.back();
  }
  EXPECT_EQ(walked, (Ids{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
}

TEST_F(DatabaseTest, IdsNeverReusedAfterRetentionAndReopen) {
  {
    auto db = OpenRw();
    ASSERT_NE(db, nullptr);
    std::vector<Event> ev;
    for (int i = 0; i < 5; ++i) ev.push_back(MakeEvent(i));
    ASSERT_TRUE(db->Commit(ev, {}).ok());
    auto n = db->EnforceRetention(std::numeric_limits<int64_t>::max(), 0, 100);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 5u);
    EXPECT_TRUE(QueryIds(*db, v1::AuditFilter()).empty());
    auto last = db->Commit({MakeEvent(9)}, {});
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, 6u);
    ASSERT_TRUE(db->EnforceRetention(std::numeric_limits<int64_t>::max(), 0,
                                     100)
                    .ok());
  }
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  auto last = db->LastId();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 6u);
  auto id = db->Commit({}, {});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 6u);
  id = db->Commit({MakeEvent(1)}, {});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 7u);
}

Owner O(const std::string& app, uint32_t uid, uint64_t ino) {
  Owner o;
  o.app = app;
  o.uid = uid;
  o.dev = 42;
  o.ino = ino;
  o.time_unix_nanos = static_cast<int64_t>(ino) * 10;
  return o;
}

OwnerChange SetC(const std::string& path, Owner o) {
  OwnerChange c;
  c.kind = OwnerChange::kSet;
  c.path = path;
  c.owner = std::move(o);
  return c;
}
OwnerChange C(OwnerChange::Kind kind, const std::string& path,
              const std::string& to = "") {
  OwnerChange c;
  c.kind = kind;
  c.path = path;
  c.to = to;
  return c;
}

std::map<std::string, std::string> Summary(Database& db) {
  auto owners = db.LoadOwners();
  EXPECT_TRUE(owners.ok()) << owners.status();
  std::map<std::string, std::string> out;
  if (!owners.ok()) return out;
  for (const auto& [path, o] : *owners) {
    out[path] = absl::StrCat(o.app, ":", o.uid, ":", o.dev, ":", o.ino, ":",
                             o.time_unix_nanos);
  }
  return out;
}

TEST_F(DatabaseTest, OwnerChanges) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  using M = std::map<std::string, std::string>;
  Owner big = O("gallery", 1000, 1);
  big.dev = ~uint64_t{0};
  big.ino = uint64_t{1} << 63;
  ASSERT_TRUE(db->Commit({}, {SetC("a", O("gallery", 1000, 1)),
                              SetC("a/b", O("gallery", 1000, 2)),
                              SetC("a/b/c", O("", 1001, 3)),
                              SetC("ab", O("camera", 1002, 4)),
                              SetC("a.txt", O("camera", 1002, 5)),
                              SetC("x/y", O("notes", 1003, 6)),
                              SetC("big", big)})
                  .ok());
  M m = Summary(*db);
  EXPECT_EQ(m.size(), 7u);
  EXPECT_EQ(m["a/b/c"], ":1001:42:3:30");
  EXPECT_EQ(m["big"], absl::StrCat("gallery:1000:", ~uint64_t{0}, ":",
                                   uint64_t{1} << 63, ":10"));
  // Set replaces; Remove of one path only.
  ASSERT_TRUE(db->Commit({}, {SetC("a.txt", O("notes", 1003, 9)),
                              C(OwnerChange::kRemove, "big"),
                              C(OwnerChange::kRemove, "absent")})
                  .ok());
  m = Summary(*db);
  EXPECT_EQ(m.size(), 6u);
  EXPECT_EQ(m["a.txt"], "notes:1003:42:9:90");
  // MoveTree a -> x: replaces x and x/y, leaves ab and a.txt.
  ASSERT_TRUE(db->Commit({}, {C(OwnerChange::kMoveTree, "a", "x")}).ok());
  EXPECT_EQ(Summary(*db),
            (M{{"x", "gallery:1000:42:1:10"},
               {"x/b", "gallery:1000:42:2:20"},
               {"x/b/c", ":1001:42:3:30"},
               {"ab", "camera:1002:42:4:40"},
               {"a.txt", "notes:1003:42:9:90"}}));
  // Exchange x/b <-> ab.
  ASSERT_TRUE(db->Commit({}, {C(OwnerChange::kExchange, "x/b", "ab")}).ok());
  EXPECT_EQ(Summary(*db),
            (M{{"x", "gallery:1000:42:1:10"},
               {"ab", "gallery:1000:42:2:20"},
               {"ab/c", ":1001:42:3:30"},
               {"x/b", "camera:1002:42:4:40"},
               {"a.txt", "notes:1003:42:9:90"}}));
  // RemoveTree x: not "ab", not "a.txt".
  ASSERT_TRUE(db->Commit({}, {C(OwnerChange::kRemoveTree, "x")}).ok());
  EXPECT_EQ(Summary(*db),
            (M{{"ab", "gallery:1000:42:2:20"},
               {"ab/c", ":1001:42:3:30"},
               {"a.txt", "notes:1003:42:9:90"}}));
  // Non-ASCII bytes survive a move (byte-wise substr).
  ASSERT_TRUE(db->Commit({}, {SetC("\xc3\xa9t\xc3\xa9/\xff", O("g", 1, 7)),
                              C(OwnerChange::kMoveTree, "\xc3\xa9t\xc3\xa9",
                                "\xe6\x97\xa5")})
                  .ok());
  m = Summary(*db);
  EXPECT_EQ(m.count("\xe6\x97\xa5/\xff"), 1u);
}

// The index and the database apply the same changes the same way.
TEST_F(DatabaseTest, OwnerIndexAndDatabaseAgreeOnRandomChanges) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  OwnerIndex index;
  std::mt19937 rng(12345);
  const std::vector<std::string> names = {"a", "b", "ab", "a0", "a.b"};
  auto random_path = [&] {
    std::string p = names[rng() % names.size()];
    const int depth = rng() % 3;
    for (int i = 0; i < depth; ++i) p += "/" + names[rng() % names.size()];
    return p;
  };
  for (int round = 0; round < 300; ++round) {
    const std::string p = random_path();
    const std::string q = random_path();
    switch (rng() % 6) {
      case 0:
      case 1:
        index.Set(p, O(names[rng() % names.size()], rng() % 3, round));
        break;
      case 2:
        index.Remove(p);
        break;
      case 3:
        index.RemoveTree(p);
        break;
      case 4:
        index.MoveTree(p, q);
        break;
      case 5:
        index.Exchange(p, q);
        break;
    }
    if (rng() % 10 == 0) {
      ASSERT_TRUE(db->Commit({}, index.TakeChanges()).ok());
      auto rows = db->LoadOwners();
      ASSERT_TRUE(rows.ok());
      ASSERT_EQ(rows->size(), index.size()) << "round " << round;
      for (const auto& [path, o] : *rows) {
        auto got = index.Get(path, o.dev, o.ino, kNoBirthTime);
        ASSERT_TRUE(got.has_value()) << path << " round " << round;
        EXPECT_EQ(got->app, o.app);
        EXPECT_EQ(got->uid, o.uid);
      }
      EXPECT_EQ(index.pending_changes(), 0u);  // nothing was stale
    }
  }
}

TEST_F(DatabaseTest, ReopenKeepsData) {
  {
    auto db = OpenRw();
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(
        db->Commit({MakeEvent(1), MakeEvent(2)}, {SetC("f", O("g", 1, 2))})
            .ok());
  }
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(QueryIds(*db, v1::AuditFilter()), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Summary(*db).size(), 1u);
  auto ro = Database::Open(path_, Mode::kReadOnly);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(QueryIds(**ro, v1::AuditFilter()), (std::vector<uint64_t>{1, 2}));
}

TEST_F(DatabaseTest, GarbageFileRefusedAndUnchanged) {
  std::string garbage(10000, '\0');
  std::mt19937 rng(7);
  for (char& c : garbage) c = static_cast<char>(rng());
  WriteFile(path_, garbage);
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    auto db = Database::Open(path_, mode);
    ASSERT_FALSE(db.ok());
    EXPECT_TRUE(absl::IsFailedPrecondition(db.status()) ||
                absl::IsDataLoss(db.status()))
        << db.status();
    EXPECT_NE(db.status().message().find(path_), std::string::npos)
        << db.status();
  }
  EXPECT_EQ(ReadFile(path_), garbage);
  EXPECT_NE(access((path_ + "-wal").c_str(), F_OK), 0);
}

TEST_F(DatabaseTest, ForeignSqliteRefusedAndUnchanged) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TABLE audit(x); CREATE TABLE owners(y);"
                         "INSERT INTO audit VALUES(1);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  const std::string before = ReadFile(path_);
  for (Mode mode : {Mode::kReadWrite, Mode::kReadOnly}) {
    auto db = Database::Open(path_, mode);
    ASSERT_FALSE(db.ok());
    EXPECT_TRUE(absl::IsFailedPrecondition(db.status())) << db.status();
    EXPECT_NE(db.status().message().find(path_), std::string::npos);
  }
  EXPECT_EQ(ReadFile(path_), before);
}

TEST_F(DatabaseTest, NewerSchemaVersionRefused) {
  { ASSERT_NE(OpenRw(), nullptr); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version=99", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto db = Database::Open(path_, Mode::kReadWrite);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("newer"), std::string::npos)
      << db.status();
}

TEST_F(DatabaseTest, OwnerBirthTimeIsKept) {
  {
    auto db = OpenRw();
    ASSERT_NE(db, nullptr);
    Owner o = O("gallery", 1000, 1);
    o.birth_nanos = 1795614806123456789;
    ASSERT_TRUE(db->Commit({}, {SetC("a", o), SetC("b", O("", 1001, 2))}).ok());
  }
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  auto owners = db->LoadOwners();
  ASSERT_TRUE(owners.ok()) << owners.status();
  ASSERT_EQ(owners->size(), 2u);
  EXPECT_EQ((*owners)[0].first, "a");
  EXPECT_EQ((*owners)[0].second.birth_nanos, 1795614806123456789);
  EXPECT_EQ((*owners)[1].second.birth_nanos, 0);
}

// A database written by the first release (schema 1: owners without birth
// times) is upgraded in place when the daemon opens it, its rows kept.
TEST_F(DatabaseTest, SchemaOneIsUpgradedKeepingItsRows) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    const int rc = sqlite3_exec(
        raw,
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "time_ns INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT "
        "NULL, pid INTEGER NOT NULL, comm TEXT NOT NULL, exe TEXT NOT NULL, "
        "app TEXT NOT NULL, path TEXT NOT NULL, operation INTEGER NOT NULL, "
        "open_flags INTEGER NOT NULL, decision INTEGER NOT NULL, error "
        "INTEGER NOT NULL, rule_id TEXT NOT NULL, generation INTEGER NOT "
        "NULL, latency_ns INTEGER NOT NULL);"
        "CREATE INDEX audit_time ON audit(time_ns);"
        "CREATE TABLE owners(path TEXT PRIMARY KEY, app TEXT NOT NULL, uid "
        "INTEGER NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL, "
        "time_ns INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO audit VALUES(7, 1, 1000, 1000, 1, 'cat', '/bin/cat', "
        "'', 'DCIM/a.jpg', 1, 0, 1, 0, 'r', 1, 10);"
        "INSERT INTO owners VALUES('DCIM/a.jpg', 'gallery', 1000, 42, 5, "
        "50);"
        "PRAGMA application_id=1397117761; PRAGMA user_version=1;",
        nullptr, nullptr, nullptr);
    sqlite3_close(raw);
    ASSERT_EQ(rc, SQLITE_OK);
  }
  // Read-only users (queries, --check-config) read it as it is.
  {
    auto ro = Database::Open(path_, Mode::kReadOnly);
    ASSERT_TRUE(ro.ok()) << ro.status();
    auto events = (*ro)->Query(v1::AuditFilter(), 0, 0, false, 10);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].id(), 7u);
  }
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  auto owners = db->LoadOwners();
  ASSERT_TRUE(owners.ok()) << owners.status();
  ASSERT_EQ(owners->size(), 1u);
  EXPECT_EQ((*owners)[0].second.app, "gallery");
  EXPECT_EQ((*owners)[0].second.ino, 5u);
  EXPECT_EQ((*owners)[0].second.birth_nanos, 0);
  Owner o = O("camera", 1001, 6);
  o.birth_nanos = 99;
  auto last = db->Commit({MakeEvent(1)}, {SetC("b", o)});
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, 8u);  // ids go on after the old rows
  db.reset();
  EXPECT_EQ(RawPragma("user_version"), 4);
}

// A shadow policy's verdict is stored with the event it differed on, read
// back as set (and unset: no verdict, not ALLOW), and selects events.
TEST_F(DatabaseTest, ShadowVerdictRoundTripsAndFilters) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  Event plain = MakeEvent(1);
  Event differed = MakeEvent(2);
  differed.shadow_decision = v1::DENY;
  differed.shadow_rule_id = "new-rule";
  Event to_allow = MakeEvent(3);
  to_allow.decision = v1::DENY;
  to_allow.shadow_decision = v1::ALLOW;  // 0 on the wire: must still be set
  ASSERT_TRUE(db->Commit({plain, differed, to_allow}, {}).ok());
  auto all = db->Query(v1::AuditFilter(), 0, 0, false, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_FALSE((*all)[0].has_shadow_decision());
  EXPECT_EQ((*all)[0].shadow_rule_id(), "");
  ASSERT_TRUE((*all)[1].has_shadow_decision());
  EXPECT_EQ((*all)[1].shadow_decision(), v1::DENY);
  EXPECT_EQ((*all)[1].shadow_rule_id(), "new-rule");
  ASSERT_TRUE((*all)[2].has_shadow_decision());
  EXPECT_EQ((*all)[2].shadow_decision(), v1::ALLOW);
  v1::AuditFilter shadow;
  shadow.set_shadow_differs(true);
  auto only = db->Query(shadow, 0, 0, false, 100);
  ASSERT_TRUE(only.ok()) << only.status();
  ASSERT_EQ(only->size(), 2u);
  EXPECT_EQ((*only)[0].id(), (*all)[1].id());
  EXPECT_EQ((*only)[1].id(), (*all)[2].id());
  // The live stream's filter agrees with the query's.
  EXPECT_FALSE(Matches(shadow, (*all)[0]));
  EXPECT_TRUE(Matches(shadow, (*all)[1]));
}

TEST_F(DatabaseTest, ReadOnlyMissingFile) {
  auto db = Database::Open(path_, Mode::kReadOnly);
  EXPECT_FALSE(db.ok());
  EXPECT_NE(access(path_.c_str(), F_OK), 0);
}

TEST_F(DatabaseTest, ReaderQueriesWhileWriterHoldsConnection) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Commit({MakeEvent(1)}, {}).ok());
  auto ro = Database::Open(path_, Mode::kReadOnly);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(QueryIds(**ro, v1::AuditFilter()).size(), 1u);
  ASSERT_TRUE(db->Commit({MakeEvent(2)}, {}).ok());
  EXPECT_EQ(QueryIds(**ro, v1::AuditFilter()).size(), 2u);
  EXPECT_FALSE((*ro)->Commit({MakeEvent(3)}, {}).ok());
  // A reader inside a read transaction does not block the writer (WAL) and
  // keeps its snapshot.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY,
                            nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
  auto count = [&] {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(raw, "SELECT count(*) FROM audit", -1, &s,
                                 nullptr),
              SQLITE_OK);
    int64_t n = -1;
    if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  };
  EXPECT_EQ(count(), 2);
  ASSERT_TRUE(db->Commit({MakeEvent(4)}, {SetC("z", O("g", 1, 1))}).ok());
  EXPECT_EQ(count(), 2);  // its snapshot
  EXPECT_EQ(QueryIds(**ro, v1::AuditFilter()).size(), 3u);
  sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
  EXPECT_EQ(count(), 3);
  sqlite3_close(raw);
}

TEST_F(DatabaseTest, RetentionByAge) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  std::vector<Event> ev;
  for (int i = 0; i < 100; ++i) {
    ev.push_back(MakeEvent(i));
    ev.back().time_unix_nanos = 1000 + i;
  }
  ASSERT_TRUE(db->Commit(ev, {}).ok());
  auto n = db->EnforceRetention(1030, 0, 20);  // bounded step
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 20u);
  n = db->EnforceRetention(1030, 0, 20);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);
  n = db->EnforceRetention(1030, 0, 20);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  auto ids = QueryIds(*db, v1::AuditFilter());
  ASSERT_EQ(ids.size(), 70u);
  EXPECT_EQ(ids.front(), 31u);
  EXPECT_EQ(ids.back(), 100u);
  n = db->EnforceRetention(0, 0, 1000);  // no limits: nothing goes
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(DatabaseTest, RetentionBySizeDeletesOldestAndShrinks) {
  auto db = OpenRw();
  ASSERT_NE(db, nullptr);
  constexpr int kEvents = 20000;
  std::vector<Event> ev;
  for (int i = 0; i < kEvents; ++i) {
    ev.push_back(MakeEvent(i));
    ev.back().path = absl::StrCat(std::string(400, 'p'), "/", i);
  }
  ASSERT_TRUE(db->Commit(ev, {}).ok());
  const uint64_t live_before = db->LiveBytes();
  const uint64_t file_before = db->FileBytes();
  ASSERT_GT(live_before, uint64_t{8} << 20);
  EXPECT_GE(file_before, live_before);
  const uint64_t limit = uint64_t{2} << 20;
  size_t total = 0;
  for (int i = 0; i < 200; ++i) {
    auto n = db->EnforceRetention(0, limit, 2000);
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_LE(*n, 2000u);
    total += *n;
    if (*n == 0) break;
  }
  const uint64_t live_after = db->LiveBytes();
  EXPECT_LE(live_after, limit);
  EXPECT_GT(live_after, limit / 2);  // not far more than needed
  EXPECT_LT(db->FileBytes(), file_before);
  auto ids = QueryIds(*db, v1::AuditFilter());
  ASSERT_EQ(ids.size(), static_cast<size_t>(kEvents) - total);
  EXPECT_EQ(ids.back(), static_cast<uint64_t>(kEvents));  // newest kept
  EXPECT_EQ(ids.front(), total + 1);                      // oldest went
}

}  // namespace
}  // namespace scopedfs::audit
