// The audit trail and the owner store against a real mount: every open by
// every client becomes exactly one row with the right fields; a full queue
// drops (and counts) events without making clients wait; a kill -9 loses
// nothing committed; `scopedctl audit tail -f` shows an open at once; files
// created through the mount belong to their app across renames and restarts.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "audit/database.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/audit.pb.h"
#include "tests/mount_test_base.h"
#include "tests/terminal_safe.h"
#include "tests/test_util.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kClientUids[] = {3001, 3002, 3003, 3004};
constexpr uid_t kAlpha = 2001;
constexpr uid_t kBeta = 2002;

// Two apps in one shared tree: each may read everything, create anywhere,
// and change only what it created (the owner store decides).
constexpr char kOwnerPolicy[] = R"pb(
  apps { name: "alpha" uids: 2001 }
  apps { name: "beta" uids: 2002 }
  rules { id: "owner" owner: CALLER action: ALLOW }
  rules { id: "look" operations: [LOOKUP, READ, CREATE] action: ALLOW }
  default_action: DENY
)pb";

std::string AuditDb(const ScopedfsMount& m) { return m.state_dir() + "/audit.db"; }

std::vector<v1::AuditEvent> QueryDb(const ScopedfsMount& m, const v1::AuditFilter& filter,
                                    size_t limit = 1000000) {
  auto db = audit::Database::Open(AuditDb(m), audit::Database::Mode::kReadOnly);
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return {};
  auto events = (*db)->Query(filter, 0, 0, /*newest_first=*/false, limit);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.ok() ? *events : std::vector<v1::AuditEvent>{};
}

// Shared with forked clients (MAP_SHARED survives fork).
template <typename T>
T* SharedArray(size_t n) {
  void* p = mmap(nullptr, sizeof(T) * n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return static_cast<T*>(p == MAP_FAILED ? nullptr : p);
}

uint64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Forks one client per uid; each names itself sfs-client-<i>, opens its own
// file `opens` times, records its pid and worst open latency, and exits only
// when `release` is written (so /proc still knows its name meanwhile).
struct Clients {
  std::vector<pid_t> pids;
  int release[2] = {-1, -1};
  struct Result {
    pid_t pid;
    int failures;
    uint64_t max_open_us;
  };
  Result* results = nullptr;

  void Start(const ScopedfsMount& m, int opens) {
    ASSERT_EQ(pipe(release), 0);
    results = SharedArray<Result>(4);
    ASSERT_NE(results, nullptr);
    for (int i = 0; i < 4; ++i) {
      const std::string path = m.M(absl::StrCat("f", kClientUids[i]));
      const pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        close(release[1]);
        prctl(PR_SET_NAME, absl::StrCat("sfs-client-", i).c_str());
        if (!BecomeIdentity(User(kClientUids[i]))) _exit(255);
        Result r{getpid(), 0, 0};
        for (int n = 0; n < opens; ++n) {
          const uint64_t t0 = NowMicros();
          const int fd = open(path.c_str(), O_RDONLY);
          r.max_open_us = std::max(r.max_open_us, NowMicros() - t0);
          if (fd < 0) {
            ++r.failures;
          } else {
            close(fd);
          }
        }
        results[i] = r;
        char c;
        (void)!read(release[0], &c, 1);  // EOF when the test lets go.
        _exit(0);
      }
      pids.push_back(pid);
    }
    close(release[0]);
  }
  // Waits until every client finished its opens (results filled).
  void WaitDone() {
    for (int i = 0; i < 4; ++i) {
      for (int t = 0; t < 120000 && results[i].pid == 0; ++t) usleep(1000);
    }
  }
  void Release() {
    if (release[1] >= 0) close(release[1]);
    release[1] = -1;
    for (pid_t p : pids) waitpid(p, nullptr, 0);
    pids.clear();
  }
  ~Clients() {
    Release();
    if (results != nullptr) munmap(results, sizeof(Result) * 4);
  }
};

class AuditMountTest : public MountTest {
 protected:
  // The daemon's defaults, except that a slow build (ASan) may ask for a
  // larger queue through SCOPEDFS_AUDIT_QUEUE_SIZE: "no drops" is a claim
  // about the real build's writer keeping up, not the sanitized one's.
  std::vector<std::string> DaemonFlags() const override {
    const uint64_t queue = EnvOr("SCOPEDFS_AUDIT_QUEUE_SIZE", 0);
    if (queue == 0) return {};
    return {absl::StrCat("--audit_queue_size=", queue)};
  }
  void MakeClientFiles() {
    for (uid_t uid : kClientUids) {
      const std::string f = B(absl::StrCat("f", uid));
      WriteFile(f, "x");
      ASSERT_EQ(chown(f.c_str(), uid, uid), 0);
    }
  }
  // Waits until the writer stored `n` events in all.
  std::map<std::string, uint64_t> WaitStored(uint64_t n) {
    return StatsWhen([n](auto& s) { return s["audit_events_stored"] >= n; });
  }
};

TEST_F(AuditMountTest, HundredThousandOpensByFourClientsAreExactlyHundredThousandRows) {
  MakeClientFiles();
  const uint64_t before = Stat("audit_events_stored");
  constexpr int kOpens = 25000;
  Clients clients;
  clients.Start(*mnt_, kOpens);
  clients.WaitDone();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(clients.results[i].failures, 0) << i;
  // Polls for up to 2 s per StatsWhen; the writer needs far less.
  std::map<std::string, uint64_t> s;
  for (int i = 0; i < 10; ++i) {
    s = WaitStored(before + 4 * kOpens);
    if (s["audit_events_stored"] >= before + 4 * kOpens) break;
  }
  EXPECT_EQ(s["audit_events_dropped{reason=\"queue_full\"}"], 0u);
  EXPECT_EQ(s["audit_events_dropped{reason=\"db_error\"}"], 0u);
  EXPECT_EQ(s["decisions{operation=\"read\",decision=\"allow\"}"], 4u * kOpens);

  v1::AuditFilter filter;
  filter.add_operations(v1::READ);
  const std::vector<v1::AuditEvent> rows = QueryDb(*mnt_, filter);
  ASSERT_EQ(rows.size(), 4u * kOpens);
  int per_client[4] = {0, 0, 0, 0};
  uint64_t last_id = 0;
  for (const v1::AuditEvent& e : rows) {
    const auto it = std::find(std::begin(kClientUids), std::end(kClientUids), e.uid());
    ASSERT_NE(it, std::end(kClientUids)) << e.DebugString();
    const int i = static_cast<int>(it - std::begin(kClientUids));
    ++per_client[i];
    ASSERT_GT(e.id(), last_id);
    last_id = e.id();
    ASSERT_EQ(e.gid(), e.uid());
    ASSERT_EQ(e.pid(), static_cast<uint32_t>(clients.results[i].pid));
    ASSERT_EQ(e.comm(), absl::StrCat("sfs-client-", i)) << e.DebugString();
    ASSERT_EQ(e.path(), absl::StrCat("f", e.uid()));
    ASSERT_EQ(e.open_flags() & O_ACCMODE, O_RDONLY);
    ASSERT_EQ(e.decision(), v1::ALLOW);
    ASSERT_EQ(e.error(), 0);
    ASSERT_EQ(e.policy_generation(), 1u);
    ASSERT_GT(e.latency_nanos(), 0u);
    ASSERT_GT(e.time_unix_nanos(), 0);
    ASSERT_TRUE(e.app().empty());      // The allow-all policy has no apps.
    ASSERT_TRUE(e.rule_id().empty());  // ...and no rules: the default decided.
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(per_client[i], kOpens) << "client " << i;
  clients.Release();
}

TEST_F(AuditMountTest, DeniedAndHiddenDecisionsAreAuditedWithTheirRule) {
  TempDir dir;  // Outlives the mount that reads it.
  const std::string policy = dir.Sub("p.textproto");
  WriteFile(policy, R"pb(
    rules { id: "hide-secret" paths: "secret/" operations: LOOKUP action: HIDE }
    rules { id: "no-write" paths: "ro.txt" operations: WRITE action: DENY }
    rules { id: "quiet" paths: "quiet.txt" action: ALLOW audit: false }
    default_action: ALLOW
  )pb");
  mnt_.reset();
  auto m = ScopedfsMount::Start({"--policy=" + policy});
  ASSERT_TRUE(m.ok()) << m.status();
  mnt_ = std::move(*m);
  mkdir(B("secret").c_str(), 0777);
  WriteFile(B("secret/x"), "x");
  WriteFile(B("ro.txt"), "x");
  WriteFile(B("quiet.txt"), "x");
  chmod(B("ro.txt").c_str(), 0666);
  const int res = RunAs(User(3001), [&] {
    struct stat st;
    if (stat(M("secret/x").c_str(), &st) == 0 || errno != ENOENT) return 1;
    if (open(M("ro.txt").c_str(), O_WRONLY) >= 0 || errno != EACCES) return 2;
    const int fd = open(M("quiet.txt").c_str(), O_RDONLY);
    if (fd < 0) return 3;
    close(fd);
    if (mkdir(M("newdir").c_str(), 0755) != 0) return 4;
    if (rename(M("newdir").c_str(), M("newdir2").c_str()) != 0) return 5;
    if (rmdir(M("newdir2").c_str()) != 0) return 6;
    return 0;
  });
  ASSERT_EQ(res, 0);
  StatsWhen([](auto& s) {
    return s["audit_events_submitted"] > 0 && s["audit_queue_depth"] == 0 &&
           s["audit_events_stored"] + s["audit_events_dropped{reason=\"queue_full\"}"] >=
               s["audit_events_submitted"];
  });
  v1::AuditFilter by_uid;
  by_uid.add_uids(3001);
  std::vector<v1::AuditEvent> rows = QueryDb(*mnt_, by_uid);
  auto find = [&](const std::string& path, v1::Operation op) -> const v1::AuditEvent* {
    for (const auto& e : rows) {
      if (e.path() == path && e.operation() == op) return &e;
    }
    return nullptr;
  };
  const v1::AuditEvent* hidden = find("secret", v1::LOOKUP);
  ASSERT_NE(hidden, nullptr);
  EXPECT_EQ(hidden->decision(), v1::HIDE);
  EXPECT_EQ(hidden->error(), ENOENT);
  EXPECT_EQ(hidden->rule_id(), "hide-secret");
  const v1::AuditEvent* denied = find("ro.txt", v1::WRITE);
  ASSERT_NE(denied, nullptr);
  EXPECT_EQ(denied->decision(), v1::DENY);
  EXPECT_EQ(denied->error(), EACCES);
  EXPECT_EQ(denied->rule_id(), "no-write");
  EXPECT_EQ(denied->open_flags() & O_ACCMODE, O_WRONLY);
  EXPECT_EQ(find("quiet.txt", v1::READ), nullptr);  // audit: false
  EXPECT_GE(Stat("audit_events_unstored"), 1u);
  EXPECT_NE(find("newdir", v1::CREATE), nullptr);
  EXPECT_NE(find("newdir", v1::RENAME), nullptr);
  EXPECT_NE(find("newdir2", v1::CREATE), nullptr);  // the rename's target
  EXPECT_NE(find("newdir2", v1::DELETE), nullptr);
  // Allowed lookups are not audited, only refusals.
  for (const auto& e : rows) {
    if (e.operation() == v1::LOOKUP) {
      EXPECT_NE(e.decision(), v1::ALLOW) << e.DebugString();
    }
  }
}

// A connection of our own to the daemon's audit database, closed (and any
// lock released) on every path, failed assertions included. It waits for the
// daemon's writer, which may hold the lock for a moment (its first retention
// pass runs right after start), as any SQLite client would.
using SqliteHandle = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
SqliteHandle OpenRaw(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteHandle db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) {
    ADD_FAILURE() << "opening " << path << ": " << sqlite3_errstr(rc);
    return SqliteHandle(nullptr, &sqlite3_close);
  }
  sqlite3_busy_timeout(db.get(), 30000);
  return db;
}

// The audit database held locked by someone else: the writer cannot commit,
// a queue of 2 overflows, and the clients do not notice.
class TinyQueueTest : public AuditMountTest {
 protected:
  std::vector<std::string> DaemonFlags() const override { return {"--audit_queue_size=2"}; }
};

TEST_F(TinyQueueTest, FullQueueDropsAndCountsWhileOpensStayFast) {
  MakeClientFiles();
  SqliteHandle db = OpenRaw(AuditDb(*mnt_), SQLITE_OPEN_READWRITE);
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  constexpr int kOpens = 5000;
  Clients clients;
  clients.Start(*mnt_, kOpens);
  clients.WaitDone();
  uint64_t worst_us = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(clients.results[i].failures, 0) << i;
    worst_us = std::max(worst_us, clients.results[i].max_open_us);
  }
  // The writer is stuck in SQLite's busy wait (5 s) for as long as the lock
  // is held; an open that waited for it would take seconds.
  EXPECT_LT(worst_us, 1000000u) << "an open waited for the audit writer";
  sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  db.reset();
  clients.Release();
  auto s = StatsWhen([](auto& s) {
    return s["audit_queue_depth"] == 0 &&
           s["audit_events_stored"] + s["audit_events_dropped{reason=\"queue_full\"}"] +
                   s["audit_events_dropped{reason=\"db_error\"}"] >=
               s["audit_events_submitted"];
  });
  const uint64_t dropped = s["audit_events_dropped{reason=\"queue_full\"}"];
  std::fprintf(stderr, "tiny queue: submitted %lu stored %lu dropped(full) %lu dropped(db) %lu, "
               "worst open %lu us\n",
               s["audit_events_submitted"], s["audit_events_stored"], dropped,
               s["audit_events_dropped{reason=\"db_error\"}"], worst_us);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(s["audit_events_submitted"],
            s["audit_events_stored"] + dropped + s["audit_events_dropped{reason=\"db_error\"}"]);
  EXPECT_GE(s["audit_events_submitted"], 4u * kOpens);
}

class OwnerTest : public AuditMountTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    static TempDir dir;
    const std::string policy = dir.Sub("owner.textproto");
    WriteFile(policy, kOwnerPolicy);
    // No kernel entry caching: the test changes the backing dir behind the
    // daemon's back and needs the next open to look the name up again.
    return {"--policy=" + policy, "--timeout=0"};
  }
  // The errno of creating `rel` (mode 0666) in the mount as `uid`.
  int CreateAs(uid_t uid, const std::string& rel) {
    return RunAs(User(uid), [&] {
      umask(0);
      const int fd = open(M(rel).c_str(), O_CREAT | O_WRONLY, 0666);
      if (fd < 0) return errno;
      close(fd);
      return 0;
    });
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
  void WaitOwnersCommitted() {
    auto s = StatsWhen([](auto& s) { return s["audit_owner_changes_pending"] == 0; });
    ASSERT_EQ(s["audit_owner_changes_pending"], 0u) << "owner changes not committed in 2 s";
  }
};

TEST_F(OwnerTest, CreatorOwnsAcrossRenameAndRestartUntilReplacedBehindTheBack) {
  mkdir(B("shared").c_str(), 0777);
  chmod(B("shared").c_str(), 0777);
  ASSERT_EQ(RunAs(User(kAlpha), [&] {
              umask(0);
              const int fd = open(M("shared/a.txt").c_str(), O_CREAT | O_WRONLY, 0666);
              if (fd < 0) return errno;
              close(fd);
              return mkdir(M("shared/dir").c_str(), 0777) == 0 ? 0 : errno;
            }),
            0);
  ASSERT_EQ(CreateAs(kAlpha, "shared/dir/in.txt"), 0);
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/a.txt"), 0);
  EXPECT_EQ(OpenForWrite(kBeta, "shared/a.txt"), EACCES);

  // A rename moves the record (a directory's, every record below it).
  ASSERT_EQ(RunAs(User(kAlpha), [&] {
              if (rename(M("shared/a.txt").c_str(), M("shared/b.txt").c_str()) != 0) return errno;
              return rename(M("shared/dir").c_str(), M("shared/dir2").c_str()) == 0 ? 0 : errno;
            }),
            0);
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/b.txt"), 0);
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/dir2/in.txt"), 0);
  EXPECT_EQ(OpenForWrite(kBeta, "shared/dir2/in.txt"), EACCES);
  // Beta cannot delete alpha's file; alpha can.
  WriteFile(B("shared/c.txt"), "");
  chmod(B("shared/c.txt").c_str(), 0666);
  EXPECT_EQ(RunAs(User(kBeta), [&] { return unlink(M("shared/b.txt").c_str()) == 0 ? 0 : errno; }),
            EACCES);
  // A file made behind the daemon's back belongs to nobody.
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/c.txt"), EACCES);

  // Ownership survives a restart.
  WaitOwnersCommitted();
  ASSERT_TRUE(mnt_->Restart().ok());
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/b.txt"), 0);
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/dir2/in.txt"), 0);
  EXPECT_EQ(OpenForWrite(kBeta, "shared/b.txt"), EACCES);
  {
    auto db = audit::Database::Open(AuditDb(*mnt_), audit::Database::Mode::kReadOnly);
    ASSERT_TRUE(db.ok()) << db.status();
    auto owners = (*db)->LoadOwners();
    ASSERT_TRUE(owners.ok());
    std::map<std::string, std::string> by_path;
    for (const auto& [path, owner] : *owners) by_path[path] = owner.app;
    EXPECT_EQ(by_path["shared/b.txt"], "alpha");
    EXPECT_EQ(by_path["shared/dir2"], "alpha");
    EXPECT_EQ(by_path["shared/dir2/in.txt"], "alpha");
    EXPECT_EQ(by_path.count("shared/a.txt"), 0u);
    EXPECT_EQ(by_path.count("shared/dir/in.txt"), 0u);
  }

  // Replaced behind the daemon's back (a new inode at the same path): the
  // record is stale and no longer honoured.
  WriteFile(B("shared/new.tmp"), "replacement");
  chmod(B("shared/new.tmp").c_str(), 0666);
  ASSERT_EQ(rename(B("shared/new.tmp").c_str(), B("shared/b.txt").c_str()), 0);
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/b.txt"), EACCES);

  // Unlinking through the mount removes the record.
  ASSERT_EQ(RunAs(User(kAlpha),
                  [&] { return unlink(M("shared/dir2/in.txt").c_str()) == 0 ? 0 : errno; }),
            0);
  WaitOwnersCommitted();
  auto db = audit::Database::Open(AuditDb(*mnt_), audit::Database::Mode::kReadOnly);
  ASSERT_TRUE(db.ok());
  auto owners = (*db)->LoadOwners();
  ASSERT_TRUE(owners.ok());
  for (const auto& [path, owner] : *owners) {
    EXPECT_NE(path, "shared/dir2/in.txt");
    EXPECT_NE(path, "shared/b.txt");  // the stale record was dropped
  }
}

// ext4 gives a file created right after a deletion the deleted file's inode
// number. A file deleted and re-created behind the daemon's back (while it
// is stopped, so it holds no reference that keeps the old inode alive) is
// not the creator's, though (dev, ino) match: its birth time differs.
TEST_F(OwnerTest, ReusedInodeNumberBehindTheBackIsNotTheCreatorsFile) {
  mkdir(B("shared").c_str(), 0777);
  chmod(B("shared").c_str(), 0777);
  ASSERT_EQ(CreateAs(kAlpha, "shared/r.txt"), 0);
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/r.txt"), 0);
  WaitOwnersCommitted();
  struct stat old_st;
  ASSERT_EQ(stat(B("shared/r.txt").c_str(), &old_st), 0);
  ASSERT_EQ(mnt_->Stop(SIGTERM), 0);

  // Replace it with a file that has the old number: ext4 hands out the
  // lowest free number near the directory, so keep creating files until one
  // gets it. (A file system that never reuses numbers tests only the
  // (dev, ino) check.)
  ASSERT_EQ(unlink(B("shared/r.txt").c_str()), 0);
  bool reused = false;
  for (int i = 0; i < 1000 && !reused; ++i) {
    const std::string fill = B(absl::StrCat("shared/fill", i));
    WriteFile(fill, "someone else's");
    struct stat st;
    ASSERT_EQ(stat(fill.c_str(), &st), 0);
    if (st.st_ino == old_st.st_ino) {
      reused = true;
      ASSERT_EQ(rename(fill.c_str(), B("shared/r.txt").c_str()), 0);
    }
  }
  if (!reused) WriteFile(B("shared/r.txt"), "someone else's");
  chmod(B("shared/r.txt").c_str(), 0666);
  if (!reused) {
    std::fprintf(stderr, "NOTE: the backing file system did not reuse inode %lu; only the "
                 "(dev, ino) check ran\n", static_cast<unsigned long>(old_st.st_ino));
  }
  ASSERT_TRUE(mnt_->Restart().ok());
  EXPECT_EQ(OpenForWrite(kAlpha, "shared/r.txt"), EACCES);
  EXPECT_EQ(ReadFile(B("shared/r.txt")), "someone else's");
  // The stale record is gone from the database too.
  WaitOwnersCommitted();
  auto db = audit::Database::Open(AuditDb(*mnt_), audit::Database::Mode::kReadOnly);
  ASSERT_TRUE(db.ok()) << db.status();
  auto owners = (*db)->LoadOwners();
  ASSERT_TRUE(owners.ok()) << owners.status();
  for (const auto& [path, owner] : *owners) EXPECT_NE(path, "shared/r.txt");
}

TEST_F(OwnerTest, KillNineUnderLoadKeepsCommittedEventsAndOwners) {
  mkdir(B("shared").c_str(), 0777);
  chmod(B("shared").c_str(), 0777);
  constexpr int kFiles = 50;
  ASSERT_EQ(RunAs(User(kAlpha), [&] {
              umask(0);
              for (int i = 0; i < kFiles; ++i) {
                const int fd = open(M(absl::StrCat("shared/f", i)).c_str(), O_CREAT | O_WRONLY, 0666);
                if (fd < 0) return errno;
                close(fd);
              }
              return 0;
            }),
            0);
  auto s = StatsWhen([](auto& s) {
    return s["audit_owner_changes_pending"] == 0 && s["audit_queue_depth"] == 0 &&
           s["audit_events_stored"] >= s["audit_events_submitted"];
  });
  const uint64_t committed = s["audit_events_stored"];
  ASSERT_GE(committed, static_cast<uint64_t>(kFiles));
  std::vector<v1::AuditEvent> before = QueryDb(*mnt_, v1::AuditFilter());
  ASSERT_EQ(before.size(), committed);

  // Load: a client opening in a loop until the mount dies under it.
  const std::string target = M("shared/f0");
  const pid_t loader = fork();
  ASSERT_GE(loader, 0);
  if (loader == 0) {
    if (!BecomeIdentity(User(kBeta))) _exit(255);
    for (;;) {
      const int fd = open(target.c_str(), O_RDONLY);
      if (fd < 0 && errno == ENOTCONN) _exit(0);
      if (fd >= 0) close(fd);
    }
  }
  usleep(300000);
  EXPECT_EQ(mnt_->Stop(SIGKILL), -SIGKILL);
  int status = 0;
  // Clients of a dead daemon get ENOTCONN; they never hang.
  bool loader_done = false;
  for (int i = 0; i < 500 && !loader_done; ++i) {
    loader_done = waitpid(loader, &status, WNOHANG) == loader;
    if (!loader_done) usleep(10000);
  }
  if (!loader_done) {
    kill(loader, SIGKILL);
    waitpid(loader, &status, 0);
  }
  EXPECT_TRUE(loader_done) << "a client of the killed daemon hung";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  ASSERT_TRUE(mnt_->Restart().ok());
  // The database opened cleanly (the daemon would have refused to start),
  // and is consistent.
  {
    SqliteHandle db = OpenRaw(AuditDb(*mnt_), SQLITE_OPEN_READONLY);
    ASSERT_NE(db, nullptr);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db.get(), "PRAGMA integrity_check", -1, &st, nullptr),
              SQLITE_OK);
    const int rc = sqlite3_step(st);
    const std::string verdict =
        rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0)) : "";
    sqlite3_finalize(st);
    ASSERT_EQ(rc, SQLITE_ROW);
    EXPECT_EQ(verdict, "ok");
  }
  std::vector<v1::AuditEvent> after = QueryDb(*mnt_, v1::AuditFilter());
  ASSERT_GE(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    ASSERT_EQ(after[i].id(), before[i].id());
    ASSERT_EQ(after[i].path(), before[i].path());
  }
  // Owners intact, and the mount serves again.
  for (int i = 0; i < kFiles; i += 7) {
    EXPECT_EQ(OpenForWrite(kAlpha, absl::StrCat("shared/f", i)), 0) << i;
    EXPECT_EQ(OpenForWrite(kBeta, absl::StrCat("shared/f", i)), EACCES) << i;
  }
  EXPECT_EQ(ReadFile(M("shared/f1")), "");
}

// The runfiles tree may live under root's 0700 home; root runs it here.
std::string CtlBinary() {
  const char* srcdir = getenv("TEST_SRCDIR");
  return std::string(srcdir ? srcdir : ".") + "/scopedfs/tools/scopedctl";
}

TEST_F(AuditMountTest, TailFollowShowsAnOpenWithinASecond) {
  WriteFile(B("tailme.txt"), "x");
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t tail = fork();
  ASSERT_GE(tail, 0);
  if (tail == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    const std::string state = "--state_dir=" + mnt_->state_dir();
    execl(CtlBinary().c_str(), "scopedctl", state.c_str(), "audit", "tail", "-f", "-n", "0",
          "path=tailme.txt", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string got;
  auto read_until = [&](const std::string& needle, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (got.find(needle) == std::string::npos) {
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - std::chrono::steady_clock::now())
                                            .count());
      if (left <= 0) return false;
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, left) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(out[0], buf, sizeof(buf));
      if (n <= 0) return false;
      got.append(buf, n);
    }
    return true;
  };
  // The header says the stream is up (it is printed once connected).
  ASSERT_TRUE(read_until("PATH", 5000)) << got;
  usleep(200000);  // Let the stream's first poll pass.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(RunAs(User(3001), [&] {
              const int fd = open(M("tailme.txt").c_str(), O_RDONLY);
              if (fd < 0) return errno;
              close(fd);
              return 0;
            }),
            0);
  const bool seen = read_until("tailme.txt", 1000);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  kill(tail, SIGTERM);
  waitpid(tail, nullptr, 0);
  close(out[0]);
  ASSERT_TRUE(seen) << "audit tail -f did not show the open within 1 s; got:\n" << got;
  EXPECT_NE(got.find(" read "), std::string::npos) << got;
  EXPECT_NE(got.find("3001"), std::string::npos) << got;
  std::fprintf(stderr, "audit tail -f showed the open after %ld ms\n", static_cast<long>(ms));
}

struct CtlRun {
  int status = -1;
  std::string out, err;
};

// Runs scopedctl (as root) on the mount's state dir with `args`, passed as
// they are (no shell: the hostile names go in unquoted).
CtlRun RunCtl(const ScopedfsMount& m, const std::vector<std::string>& args) {
  std::vector<std::string> argv_store = {CtlBinary(), "--state_dir=" + m.state_dir()};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return {};
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    std::vector<char*> argv;
    for (std::string& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  CtlRun r;
  for (auto [fd, into] : {std::pair{out[0], &r.out}, std::pair{err[0], &r.err}}) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) into->append(buf, n);
    close(fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

size_t CountLines(const std::string& text) {
  return std::count(text.begin(), text.end(), '\n');
}

// Names and process names are the client's choice: any uid can create a
// file whose name holds a newline and a forged table row, terminal escape
// sequences, bytes that are not UTF-8, C1 or bidi controls, and run a
// process with such a name. Every reader shows them escaped (audit/escape.h),
// losslessly: no query fails, no row is forged, nothing reaches the
// terminal, and a path= filter with the escaped name finds its rows. In both
// I/O modes, with --debug so the daemon's decision lines are checked too.
class HostileNamesTest : public AuditMountTest,
                         public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    SFS_SKIP_UNLESS_MOUNTING_WORKS();
    auto m = ScopedfsMount::StartCapturingStderr(
        {GetParam() ? "--passthrough=true" : "--passthrough=false", "--debug"});
    ASSERT_TRUE(m.ok()) << m.status();
    mnt_ = std::move(*m);
  }
};

constexpr uid_t kAppUid = 1010002;

TEST_P(HostileNamesTest, EveryReaderShowsThemEscapedAndNoQueryFails) {
  struct Name {
    std::string raw;
    std::string escaped;  // as audit/escape.h writes it
  };
  const std::vector<Name> names = {
      {"forged\n4242     2025-11-25T10:00:00.000Z 0      1-init               -              "
       "read    allow           -                secret.jpg",
       "forged\\x0a4242     2025-11-25T10:00:00.000Z 0      1-init               -              "
       "read    allow           -                secret.jpg"},
      {"\x1b[2J", "\\x1b[2J"},
      {"\x1b]0;title\x07", "\\x1b]0;title\\x07"},
      {"\xff\xfe", "\\xff\\xfe"},
      {"c1\xc2\x9b" "31m", "c1\\u{009b}31m"},
      {"rlo\xe2\x80\xae" "txt.exe", "rlo\\u{202e}txt.exe"},
      {"back\\slash", "back\\\\slash"},
  };
  // An app uid creates each name, then opens it for reading.
  ASSERT_EQ(RunAs(User(kAppUid),
                  [&] {
                    for (const Name& n : names) {
                      int fd = open(M(n.raw).c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
                      if (fd < 0) {
                        std::fprintf(stderr, "creating %s: %s\n", absl::CEscape(n.raw).c_str(),
                                     strerror(errno));
                        return 1;
                      }
                      close(fd);
                      fd = open(M(n.raw).c_str(), O_RDONLY);
                      if (fd < 0) return 2;
                      close(fd);
                    }
                    return 0;
                  }),
            0);
  // A process whose name is not UTF-8 and holds an escape opens a file.
  WriteFile(B("plain.txt"), "x");
  chmod(B("plain.txt").c_str(), 0644);
  const std::string comm = "\xff\xfe\x1b[1mx";
  const std::string comm_escaped = "\\xff\\xfe\\x1b[1mx";
  fflush(nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    prctl(PR_SET_NAME, comm.c_str());
    if (!BecomeIdentity(User(kAppUid))) _exit(255);
    const int fd = open(M("plain.txt").c_str(), O_RDONLY);
    if (fd < 0) _exit(1);
    close(fd);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  StatsWhen([](auto& s) {
    return s["audit_queue_depth"] == 0 &&
           s["audit_events_stored"] + s["audit_events_dropped{reason=\"queue_full\"}"] >=
               s["audit_events_submitted"];
  });

  // What is stored: the raw bytes.
  v1::AuditFilter by_app_uid;
  by_app_uid.add_uids(kAppUid);
  const std::vector<v1::AuditEvent> rows = QueryDb(*mnt_, by_app_uid);
  ASSERT_GE(rows.size(), 2 * names.size() + 1);
  for (const Name& n : names) {
    EXPECT_TRUE(std::any_of(rows.begin(), rows.end(),
                            [&](const auto& e) { return e.path() == n.raw; }))
        << absl::CEscape(n.raw);
  }
  EXPECT_TRUE(std::any_of(rows.begin(), rows.end(),
                          [&](const auto& e) { return e.comm() == comm; }));

  const std::string uid_term = absl::StrCat("uid=", kAppUid);
  const CtlRun table = RunCtl(*mnt_, {"audit", "query", uid_term, "--limit=0"});
  const CtlRun json = RunCtl(*mnt_, {"audit", "query", uid_term, "--limit=0", "--json"});
  const CtlRun tail =
      RunCtl(*mnt_, {"audit", "tail", "-n", absl::StrCat(rows.size()), uid_term});
  for (const auto* r : {&table, &json, &tail}) {
    SCOPED_TRACE(r == &table ? "query" : r == &json ? "query --json" : "tail");
    EXPECT_EQ(r->status, 0) << r->err;
    EXPECT_EQ(r->err, "");
    EXPECT_EQ(TerminalUnsafe(r->out), "");
    // One line per event (and the header): no forged rows.
    EXPECT_EQ(CountLines(r->out), rows.size() + (r == &json ? 0 : 1)) << r->out;
    const bool in_json = r == &json;
    for (const Name& n : names) {
      const std::string shown =
          in_json ? absl::StrReplaceAll(n.escaped, {{"\\", "\\\\"}}) : n.escaped;
      EXPECT_TRUE(absl::StrContains(r->out, shown)) << shown << "\n" << r->out;
    }
    const std::string comm_shown =
        in_json ? absl::StrReplaceAll(comm_escaped, {{"\\", "\\\\"}}) : comm_escaped;
    EXPECT_TRUE(absl::StrContains(r->out, comm_shown)) << r->out;
  }

  // path= with the escaped name finds exactly that name's rows.
  for (const Name& n : names) {
    SCOPED_TRACE(n.escaped);
    size_t want = 0;
    for (const auto& e : rows) want += e.path() == n.raw;
    const CtlRun found =
        RunCtl(*mnt_, {"audit", "query", uid_term, "path=" + n.escaped, "--json"});
    EXPECT_EQ(found.status, 0) << found.err;
    EXPECT_EQ(CountLines(found.out), want) << found.out;
    EXPECT_GE(want, 2u);
  }
  // A bad escape is the admin's mistake, said as such.
  const CtlRun bad = RunCtl(*mnt_, {"audit", "query", "path=a\\qb"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "bad path")) << bad.err;

  // The daemon's decision lines: the escaped name, quoted, on one line.
  const std::string log = mnt_->DaemonStderr();
  for (const Name& n : names) {
    EXPECT_TRUE(absl::StrContains(log, "path=\"" + n.escaped + "\"")) << n.escaped;
  }
  size_t decision_lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::StrContains(line, " decision op=")) continue;
    ++decision_lines;
    EXPECT_EQ(TerminalUnsafe(std::string(line)), "") << absl::CEscape(line);
  }
  EXPECT_GE(decision_lines, rows.size());
}

INSTANTIATE_TEST_SUITE_P(Modes, HostileNamesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Passthrough" : "NoPassthrough";
                         });

}  // namespace
}  // namespace scopedfs::testing
