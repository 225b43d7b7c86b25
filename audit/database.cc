#include "audit/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audit/path_util.h"

namespace scopedfs::audit {
namespace {

// PRAGMA application_id of every scopedfs audit database ("SFSA").
constexpr int64_t kApplicationId = 0x53465341;
// 2: owners.birth_ns. 3: audit.redaction. 4: audit.shadow_decision and
// shadow_rule_id (-1 and '': no shadow verdict). Older files are upgraded when
// opened for writing.
constexpr int64_t kSchemaVersion = 4;
constexpr int kBusyTimeoutMs = 5000;
// Free pages given back per retention step.
constexpr int kVacuumPages = 512;

constexpr char kSchema[] = R"sql(
CREATE TABLE audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ns INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  gid INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  comm TEXT NOT NULL,
  exe TEXT NOT NULL,
  app TEXT NOT NULL,
  path TEXT NOT NULL,
  operation INTEGER NOT NULL,
  open_flags INTEGER NOT NULL,
  decision INTEGER NOT NULL,
  error INTEGER NOT NULL,
  rule_id TEXT NOT NULL,
  generation INTEGER NOT NULL,
  latency_ns INTEGER NOT NULL,
  redaction TEXT NOT NULL DEFAULT '',
  shadow_decision INTEGER NOT NULL DEFAULT -1,
  shadow_rule_id TEXT NOT NULL DEFAULT '');
CREATE INDEX audit_time ON audit(time_ns);
CREATE TABLE owners(
  path TEXT PRIMARY KEY,
  app TEXT NOT NULL,
  uid INTEGER NOT NULL,
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  time_ns INTEGER NOT NULL,
  birth_ns INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
)sql";

// From each older schema version to the next, in one transaction each.
constexpr const char* kUpgrades[] = {
    /* 1 -> 2 */ "ALTER TABLE owners ADD COLUMN birth_ns INTEGER NOT NULL "
                 "DEFAULT 0",
    /* 2 -> 3 */ "ALTER TABLE audit ADD COLUMN redaction TEXT NOT NULL "
                 "DEFAULT ''",
    /* 3 -> 4 */ "ALTER TABLE audit ADD COLUMN shadow_decision INTEGER NOT "
                 "NULL DEFAULT -1; ALTER TABLE audit ADD COLUMN shadow_rule_id "
                 "TEXT NOT NULL DEFAULT ''",
};
static_assert(sizeof(kUpgrades) / sizeof(kUpgrades[0]) == kSchemaVersion - 1,
              "one upgrade per older schema version");

constexpr char kOwnerColumns[] = "path, app, uid, dev, ino, time_ns, birth_ns";

constexpr char kEventColumns[] =
    "id, time_ns, uid, gid, pid, comm, exe, app, path, operation, "
    "open_flags, decision, error, rule_id, generation, latency_ns, ";

// Binds text without copying: the caller keeps it alive until the reset.
// (A null pointer would bind NULL, so empty strings get a real one.)
int BindText(sqlite3_stmt* s, int i, absl::string_view v) {
  return sqlite3_bind_text(s, i, v.data() == nullptr ? "" : v.data(),
                           static_cast<int>(v.size()), SQLITE_STATIC);
}
int BindInt(sqlite3_stmt* s, int i, int64_t v) {
  return sqlite3_bind_int64(s, i, v);
}
// Binds a tree of owner rows: its root (?1) and the paths below it
// (?2 <= path < ?3). The bounds are temporaries, so SQLite copies them.
void BindTree(sqlite3_stmt* s, absl::string_view root) {
  BindText(s, 1, root);
  const std::string lo = internal::DescendantsLow(root);
  const std::string hi = internal::DescendantsHigh(root);
  sqlite3_bind_text(s, 2, lo.data(), static_cast<int>(lo.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, hi.data(), static_cast<int>(hi.size()),
                    SQLITE_TRANSIENT);
}
int64_t Signed(uint64_t v) { return static_cast<int64_t>(v); }
int64_t ClampToSigned(uint64_t v) {
  return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
             ? std::numeric_limits<int64_t>::max()
             : static_cast<int64_t>(v);
}
std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  if (p == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

// Resets a statement (and its bindings) when leaving a scope.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* s) : s_(s) {}
  ~ResetOnExit() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Finalizes a one-off statement.
struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalizer>;

absl::Status CodeToStatus(int code, std::string message) {
  switch (code & 0xff) {
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(std::move(message));
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::DataLossError(std::move(message));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return absl::FailedPreconditionError(std::move(message));
    default:
      return absl::InternalError(std::move(message));
  }
}

}  // namespace

Database::Database(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)) {}

Database::~Database() {
  for (sqlite3_stmt* s : {insert_event_, set_owner_, remove_owner_,
                          remove_tree_, move_tree_, select_tree_}) {
    sqlite3_finalize(s);  // no-op on nullptr
  }
  sqlite3_close(db_);
}

absl::Status Database::Error(absl::string_view what) const {
  return CodeToStatus(sqlite3_extended_errcode(db_),
                      absl::StrCat("audit database ", path_, ": ", what, ": ",
                                   sqlite3_errmsg(db_)));
}

absl::Status Database::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error(sql);
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3_stmt*> Database::Prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &s,
                         nullptr) != SQLITE_OK) {
    return Error(absl::StrCat("preparing ", sql));
  }
  return s;
}

absl::StatusOr<int64_t> Database::QueryInt(const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return Error(sql);
  }
  StmtPtr s(raw);
  const int rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) return sqlite3_column_int64(raw, 0);
  if (rc == SQLITE_DONE) return 0;
  return Error(sql);
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path, Mode mode) {
  if (mode == Mode::kReadWrite) {
    // SQLite would fall back to reading a file it may not write (a
    // read-only mount, an immutable file), or fail later on its -wal and
    // -shm beside it: the daemon would drop every event and lose every
    // owner change. Say so plainly instead.
    const std::string dir = path.substr(0, path.find_last_of('/') + 1);
    for (const std::string& f : {path, dir.empty() ? std::string(".") : dir}) {
      if (access(f.c_str(), W_OK) != 0 && errno != ENOENT) {
        return absl::FailedPreconditionError(absl::StrCat(
            "audit database ", path, " cannot be written (", f, ": ",
            strerror(errno), "); the daemon records every decision and file "
            "owner there"));
      }
    }
    // Created here with kFileMode, whatever the umask, before SQLite opens
    // it: SQLite creates the -wal and -shm files with the database file's
    // mode (and owner), so they get it too. An existing file is left as it
    // is (the daemon checks the state dir's modes at start).
    const int fd = open(path.c_str(),
                        O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
    if (fd >= 0) {
      const bool moded = fchmod(fd, kFileMode) == 0;
      close(fd);
      if (!moded) {
        unlink(path.c_str());
        return absl::FailedPreconditionError(
            absl::StrCat("cannot set the mode of audit database ", path));
      }
    }
  }
  const int flags =
      (mode == Mode::kReadWrite ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                : SQLITE_OPEN_READONLY) |
      SQLITE_OPEN_NOMUTEX;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg =
        absl::StrCat("cannot open audit database ", path, ": ",
                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    if ((rc & 0xff) == SQLITE_CANTOPEN && mode == Mode::kReadOnly) {
      return absl::NotFoundError(std::move(msg));
    }
    return CodeToStatus(rc, std::move(msg));
  }
  std::unique_ptr<Database> d(new Database(db, path));
  absl::Status status = d->Initialize(mode);
  if (!status.ok()) return status;
  return d;
}

absl::Status Database::CheckIntegrity() {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA quick_check(5)", -1, &raw, nullptr) !=
      SQLITE_OK) {
    return absl::DataLossError(absl::StrCat(
        "audit database ", path_, " cannot be checked: ", sqlite3_errmsg(db_)));
  }
  StmtPtr stmt(raw);
  std::vector<std::string> problems;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(raw, 0);
    const std::string line = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    if (line != "ok") problems.push_back(line);
  }
  if (rc != SQLITE_DONE) problems.push_back(sqlite3_errmsg(db_));
  if (problems.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "audit database ", path_, " is damaged (quick_check: ",
      absl::StrJoin(problems, "; "), ")"));
}

absl::Status Database::Initialize(Mode mode) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  // Reading the schema validates the header: a file that is not SQLite
  // fails here, before anything was written to it.
  absl::StatusOr<int64_t> objects = QueryInt("SELECT count(*) FROM sqlite_master");
  if (!objects.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_,
                     " is not a scopedfs audit database (not readable as "
                     "SQLite: ",
                     sqlite3_errmsg(db_), "); refusing to use it"));
  }
  absl::StatusOr<int64_t> app_id = QueryInt("PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  absl::StatusOr<int64_t> version = QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();

  const bool fresh = *objects == 0 && *app_id == 0 && *version == 0;
  if (fresh) {
    if (mode == Mode::kReadOnly) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, " has no audit schema yet"));
    }
    // auto_vacuum only takes effect before the first table exists.
    if (absl::Status s = Exec("PRAGMA auto_vacuum=INCREMENTAL"); !s.ok()) {
      return s;
    }
    if (absl::Status s = Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    absl::Status s = [&]() -> absl::Status {
      // Someone may have beaten us to it between the check and the lock.
      absl::StatusOr<int64_t> n = QueryInt("SELECT count(*) FROM sqlite_master");
      if (!n.ok()) return n.status();
      if (*n != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            path_, " changed while being created; refusing to use it"));
      }
      if (absl::Status st = Exec(kSchema); !st.ok()) return st;
      if (absl::Status st = Exec(absl::StrCat("PRAGMA application_id=",
                                              kApplicationId)
                                     .c_str());
          !st.ok()) {
        return st;
      }
      if (absl::Status st = Exec(
              absl::StrCat("PRAGMA user_version=", kSchemaVersion).c_str());
          !st.ok()) {
        return st;
      }
      return Exec("COMMIT");
    }();
    if (!s.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  } else {
    if (*app_id != kApplicationId) {
      return absl::FailedPreconditionError(absl::StrCat(
          path_, " is not a scopedfs audit database (SQLite application_id ",
          *app_id, ", expected ", kApplicationId, "); refusing to use it"));
    }
    if (*version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          path_, " has audit schema version ", *version,
          ", newer than this build's ", kSchemaVersion));
    }
    absl::StatusOr<int64_t> tables = QueryInt(
        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
        "('audit', 'owners')");
    if (!tables.ok()) return tables.status();
    if (*version < 1 || *tables != 2) {
      return absl::DataLossError(absl::StrCat(
          path_, " is a damaged scopedfs audit database (schema version ",
          *version, ", ", *tables, " of 2 tables); refusing to use it"));
    }
    // Read-only users only read events; before version 3 they had no
    // redaction column (Query reads it as empty).
    events_have_redaction_ = *version >= 3;
    events_have_shadow_ = *version >= 4;
    if (mode == Mode::kReadWrite) {
      events_have_redaction_ = events_have_shadow_ = true;  // Upgrade() adds them.
      if (absl::Status s = Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
      if (absl::Status s = Upgrade(); !s.ok()) return s;
    }
  }

  if (mode == Mode::kReadOnly) return Exec("PRAGMA query_only=1");

  if (absl::Status s = Exec("PRAGMA synchronous=NORMAL"); !s.ok()) return s;
  struct {
    sqlite3_stmt** stmt;
    std::string sql;
  } statements[] = {
      {&insert_event_,
       "INSERT INTO audit(time_ns, uid, gid, pid, comm, exe, app, path, "
       "operation, open_flags, decision, error, rule_id, generation, "
       "latency_ns, redaction, shadow_decision, shadow_rule_id) VALUES(?1, "
       "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
       "?17, ?18)"},
      {&set_owner_, absl::StrCat("INSERT OR REPLACE INTO owners(", kOwnerColumns,
                                 ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")},
      {&remove_owner_, "DELETE FROM owners WHERE path = ?1"},
      {&remove_tree_,
       "DELETE FROM owners WHERE path = ?1 OR (path >= ?2 AND path < ?3)"},
      // ?4: 1 + the byte length of the old root. substr on a BLOB counts
      // bytes (on TEXT it would count characters).
      {&move_tree_,
       "UPDATE owners SET path = ?5 || CAST(substr(CAST(path AS BLOB), ?4) "
       "AS TEXT) WHERE path = ?1 OR (path >= ?2 AND path < ?3)"},
      {&select_tree_,
       absl::StrCat("SELECT ", kOwnerColumns, " FROM owners ",
                    "WHERE path = ?1 OR (path >= ?2 AND path < ?3)")},
  };
  for (auto& st : statements) {
    absl::StatusOr<sqlite3_stmt*> s = Prepare(st.sql);
    if (!s.ok()) return s.status();
    *st.stmt = *s;
  }
  absl::StatusOr<uint64_t> last = LastId();
  if (!last.ok()) return last.status();
  last_id_ = *last;
  return absl::OkStatus();
}

absl::Status Database::Upgrade() {
  for (;;) {
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    int64_t from = 0;
    bool done = false;
    absl::Status s = [&]() -> absl::Status {
      // Read under the lock: another process may have upgraded it meanwhile.
      absl::StatusOr<int64_t> version = QueryInt("PRAGMA user_version");
      if (!version.ok()) return version.status();
      from = *version;
      if (from >= kSchemaVersion) {
        done = true;
        return Exec("COMMIT");
      }
      if (absl::Status st = Exec(kUpgrades[from - 1]); !st.ok()) return st;
      if (absl::Status st =
              Exec(absl::StrCat("PRAGMA user_version=", from + 1).c_str());
          !st.ok()) {
        return st;
      }
      return Exec("COMMIT");
    }();
    if (!s.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return absl::Status(
          s.code(), absl::StrCat(path_, ": upgrading the audit schema from version ",
                                 from, ": ", s.message()));
    }
    if (done) return absl::OkStatus();
  }
}

absl::Status Database::InsertOwner(absl::string_view path,
                                   const Owner& owner) {
  sqlite3_stmt* s = set_owner_;
  ResetOnExit reset(s);
  BindText(s, 1, path);
  BindText(s, 2, owner.app);
  BindInt(s, 3, owner.uid);
  BindInt(s, 4, Signed(owner.dev));
  BindInt(s, 5, Signed(owner.ino));
  BindInt(s, 6, owner.time_unix_nanos);
  BindInt(s, 7, owner.birth_nanos);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("storing an owner");
  return absl::OkStatus();
}

absl::Status Database::RemoveTreeRows(absl::string_view root) {
  sqlite3_stmt* s = remove_tree_;
  ResetOnExit reset(s);
  BindTree(s, root);
  if (sqlite3_step(s) != SQLITE_DONE) return Error("removing owners");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, Owner>>>
Database::ReadOwners(sqlite3_stmt* s) {
  // Columns: kOwnerColumns.
  std::vector<std::pair<std::string, Owner>> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Owner o;
    o.app = ColumnText(s, 1);
    o.uid = static_cast<uint32_t>(sqlite3_column_int64(s, 2));
    o.dev = static_cast<uint64_t>(sqlite3_column_int64(s, 3));
    o.ino = static_cast<uint64_t>(sqlite3_column_int64(s, 4));
    o.time_unix_nanos = sqlite3_column_int64(s, 5);
    o.birth_nanos = sqlite3_column_int64(s, 6);
    out.emplace_back(ColumnText(s, 0), std::move(o));
  }
  if (rc != SQLITE_DONE) return Error("reading owners");
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, Owner>>>
Database::SelectTree(absl::string_view root) {
  sqlite3_stmt* s = select_tree_;
  ResetOnExit reset(s);
  BindTree(s, root);
  return ReadOwners(s);
}

absl::Status Database::ApplyChange(const OwnerChange& change) {
  switch (change.kind) {
    case OwnerChange::kSet:
      return InsertOwner(change.path, change.owner);
    case OwnerChange::kRemove: {
      sqlite3_stmt* s = remove_owner_;
      ResetOnExit reset(s);
      BindText(s, 1, change.path);
      if (sqlite3_step(s) != SQLITE_DONE) return Error("removing an owner");
      return absl::OkStatus();
    }
    case OwnerChange::kRemoveTree:
      return RemoveTreeRows(change.path);
    case OwnerChange::kMoveTree: {
      if (change.path == change.to) return absl::OkStatus();
      // What the rename replaced goes first (as in OwnerIndex::MoveTree).
      if (absl::Status s = RemoveTreeRows(change.to); !s.ok()) return s;
      sqlite3_stmt* s = move_tree_;
      ResetOnExit reset(s);
      BindTree(s, change.path);
      BindInt(s, 4, static_cast<int64_t>(change.path.size()) + 1);
      BindText(s, 5, change.to);
      if (sqlite3_step(s) != SQLITE_DONE) return Error("moving owners");
      return absl::OkStatus();
    }
    case OwnerChange::kExchange: {
      const std::string& a = change.path;
      const std::string& b = change.to;
      if (internal::PathIsUnder(a, b) || internal::PathIsUnder(b, a)) {
        return absl::OkStatus();  // as OwnerIndex::Exchange: refused
      }
      absl::StatusOr<std::vector<std::pair<std::string, Owner>>> tree_a =
          SelectTree(a);
      if (!tree_a.ok()) return tree_a.status();
      absl::StatusOr<std::vector<std::pair<std::string, Owner>>> tree_b =
          SelectTree(b);
      if (!tree_b.ok()) return tree_b.status();
      if (absl::Status s = RemoveTreeRows(a); !s.ok()) return s;
      if (absl::Status s = RemoveTreeRows(b); !s.ok()) return s;
      for (const auto& [path, owner] : *tree_a) {
        if (absl::Status s =
                InsertOwner(absl::StrCat(b, path.substr(a.size())), owner);
            !s.ok()) {
          return s;
        }
      }
      for (const auto& [path, owner] : *tree_b) {
        if (absl::Status s =
                InsertOwner(absl::StrCat(a, path.substr(b.size())), owner);
            !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown owner change kind");
}

absl::StatusOr<uint64_t> Database::Commit(
    absl::Span<const Event> events, absl::Span<const OwnerChange> changes) {
  if (insert_event_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit database ", path_, " is open read-only"));
  }
  if (events.empty() && changes.empty()) return last_id_;
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  uint64_t last = last_id_;
  absl::Status status = [&]() -> absl::Status {
    for (const OwnerChange& c : changes) {
      if (absl::Status s = ApplyChange(c); !s.ok()) return s;
    }
    sqlite3_stmt* s = insert_event_;
    for (const Event& e : events) {
      ResetOnExit reset(s);
      BindInt(s, 1, e.time_unix_nanos);
      BindInt(s, 2, e.uid);
      BindInt(s, 3, e.gid);
      BindInt(s, 4, e.pid);
      BindText(s, 5, e.comm);
      BindText(s, 6, e.exe);
      BindText(s, 7, e.app);
      BindText(s, 8, e.path);
      BindInt(s, 9, e.operation);
      BindInt(s, 10, e.open_flags);
      BindInt(s, 11, e.decision);
      BindInt(s, 12, e.error);
      BindText(s, 13, e.rule_id);
      BindInt(s, 14, Signed(e.policy_generation));
      BindInt(s, 15, Signed(e.latency_nanos));
      BindText(s, 16, e.redaction);
      BindInt(s, 17, e.shadow_decision);
      BindText(s, 18, e.shadow_rule_id);
      if (sqlite3_step(s) != SQLITE_DONE) return Error("storing an event");
      last = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
    }
    return Exec("COMMIT");
  }();
  if (!status.ok()) {
    if (!sqlite3_get_autocommit(db_)) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return status;
  }
  last_id_ = last;
  return last;
}

absl::StatusOr<std::vector<v1::AuditEvent>> Database::Query(
    const v1::AuditFilter& filter, uint64_t after_id, uint64_t before_id,
    bool newest_first, size_t limit) {
  std::vector<v1::AuditEvent> out;
  if (limit == 0) return out;
  using Value = std::variant<int64_t, std::string>;
  std::vector<Value> values;
  std::string sql =
      absl::StrCat("SELECT ", kEventColumns,
                   events_have_redaction_ ? "redaction" : "'' AS redaction",
                   events_have_shadow_
                       ? ", shadow_decision, shadow_rule_id"
                       : ", -1 AS shadow_decision, '' AS shadow_rule_id",
                   " FROM audit WHERE id > ?");
  values.push_back(ClampToSigned(after_id));
  if (before_id != 0) {
    absl::StrAppend(&sql, " AND id < ?");
    values.push_back(ClampToSigned(before_id));
  }
  auto in_list = [&](absl::string_view column, size_t n) {
    std::vector<absl::string_view> marks(n, "?");
    absl::StrAppend(&sql, " AND ", column, " IN (", absl::StrJoin(marks, ","),
                    ")");
  };
  if (filter.apps_size() > 0) {
    in_list("app", filter.apps_size());
    for (const std::string& a : filter.apps()) values.push_back(a);
  }
  if (filter.uids_size() > 0) {
    in_list("uid", filter.uids_size());
    for (uint32_t u : filter.uids()) values.push_back(int64_t{u});
  }
  const absl::string_view prefix =
      internal::NormalizePrefix(filter.path_prefix());
  if (!prefix.empty()) {
    absl::StrAppend(&sql, " AND (path = ? OR (path >= ? AND path < ?))");
    values.push_back(std::string(prefix));
    values.push_back(internal::DescendantsLow(prefix));
    values.push_back(internal::DescendantsHigh(prefix));
  }
  if (filter.operations_size() > 0) {
    in_list("operation", filter.operations_size());
    for (int op : filter.operations()) values.push_back(int64_t{op});
  }
  if (filter.decisions_size() > 0) {
    in_list("decision", filter.decisions_size());
    for (int d : filter.decisions()) values.push_back(int64_t{d});
  }
  if (filter.shadow_differs()) {
    absl::StrAppend(&sql, events_have_shadow_ ? " AND shadow_decision >= 0"
                                              : " AND 0");
  }
  if (filter.since_unix_nanos() != 0) {
    absl::StrAppend(&sql, " AND time_ns >= ?");
    values.push_back(filter.since_unix_nanos());
  }
  if (filter.until_unix_nanos() != 0) {
    absl::StrAppend(&sql, " AND time_ns < ?");
    values.push_back(filter.until_unix_nanos());
  }
  absl::StrAppend(&sql, " ORDER BY id ", newest_first ? "DESC" : "ASC",
                  " LIMIT ?");
  values.push_back(ClampToSigned(limit));

  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw,
                         nullptr) != SQLITE_OK) {
    return Error("preparing a query");
  }
  StmtPtr stmt(raw);
  for (size_t i = 0; i < values.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (const int64_t* v = std::get_if<int64_t>(&values[i])) {
      BindInt(raw, index, *v);
    } else {
      BindText(raw, index, std::get<std::string>(values[i]));
    }
  }
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    v1::AuditEvent& e = out.emplace_back();
    e.set_id(static_cast<uint64_t>(sqlite3_column_int64(raw, 0)));
    e.set_time_unix_nanos(sqlite3_column_int64(raw, 1));
    e.set_uid(static_cast<uint32_t>(sqlite3_column_int64(raw, 2)));
    e.set_gid(static_cast<uint32_t>(sqlite3_column_int64(raw, 3)));
    e.set_pid(static_cast<uint32_t>(sqlite3_column_int64(raw, 4)));
    e.set_comm(ColumnText(raw, 5));
    e.set_exe(ColumnText(raw, 6));
    e.set_app(ColumnText(raw, 7));
    e.set_path(ColumnText(raw, 8));
    e.set_operation(static_cast<v1::Operation>(sqlite3_column_int(raw, 9)));
    e.set_open_flags(sqlite3_column_int(raw, 10));
    e.set_decision(static_cast<v1::Action>(sqlite3_column_int(raw, 11)));
    e.set_error(sqlite3_column_int(raw, 12));
    e.set_rule_id(ColumnText(raw, 13));
    e.set_policy_generation(
        static_cast<uint64_t>(sqlite3_column_int64(raw, 14)));
    e.set_latency_nanos(static_cast<uint64_t>(sqlite3_column_int64(raw, 15)));
    e.set_redaction(ColumnText(raw, 16));
    if (const int shadow = sqlite3_column_int(raw, 17); shadow >= 0) {
      e.set_shadow_decision(static_cast<v1::Action>(shadow));
      e.set_shadow_rule_id(ColumnText(raw, 18));
    }
  }
  if (rc != SQLITE_DONE) return Error("querying events");
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, Owner>>>
Database::LoadOwners() {
  sqlite3_stmt* raw = nullptr;
  const std::string sql = absl::StrCat("SELECT ", kOwnerColumns, " FROM owners");
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Error("reading owners");
  }
  StmtPtr stmt(raw);
  return ReadOwners(raw);
}

absl::StatusOr<uint64_t> Database::LastId() {
  absl::StatusOr<int64_t> seq =
      QueryInt("SELECT seq FROM sqlite_sequence WHERE name = 'audit'");
  if (!seq.ok()) return seq.status();
  return static_cast<uint64_t>(std::max<int64_t>(*seq, 0));
}

absl::StatusOr<size_t> Database::DeleteOldest(const char* sql, int64_t bound,
                                              size_t limit) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return Error("preparing retention");
  }
  StmtPtr stmt(raw);
  BindInt(raw, 1, bound);
  BindInt(raw, 2, ClampToSigned(limit));
  if (sqlite3_step(raw) != SQLITE_DONE) return Error("retention");
  return static_cast<size_t>(sqlite3_changes(db_));
}

absl::StatusOr<size_t> Database::EnforceRetention(int64_t min_time_unix_nanos,
                                                  uint64_t max_bytes,
                                                  size_t max_rows) {
  size_t deleted = 0;
  if (min_time_unix_nanos != 0 && max_rows > 0) {
    absl::StatusOr<size_t> n = DeleteOldest(
        "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time_ns < ?1 "
        "ORDER BY time_ns LIMIT ?2)",
        min_time_unix_nanos, max_rows);
    if (!n.ok()) return n.status();
    deleted += *n;
  }
  if (max_bytes != 0 && deleted < max_rows) {
    const uint64_t live = LiveBytes();
    if (live > max_bytes) {
      // How many rows the excess is, from the average row (all live bytes
      // over the id span: cheap, and close enough for a bounded step).
      absl::StatusOr<int64_t> lo = QueryInt("SELECT min(id) FROM audit");
      if (!lo.ok()) return lo.status();
      absl::StatusOr<int64_t> hi = QueryInt("SELECT max(id) FROM audit");
      if (!hi.ok()) return hi.status();
      if (*hi > 0) {
        const uint64_t rows = static_cast<uint64_t>(*hi - *lo + 1);
        const uint64_t per_row = std::max<uint64_t>(1, live / rows);
        const uint64_t want = (live - max_bytes + per_row - 1) / per_row;
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(std::max<uint64_t>(want, 1), max_rows - deleted));
        absl::StatusOr<size_t> d = DeleteOldest(
            "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id > ?1 "
            "ORDER BY id LIMIT ?2)",
            0, n);
        if (!d.ok()) return d.status();
        deleted += *d;
      }
    }
  }
  if (deleted > 0) {
    if (absl::Status s = Exec(
            absl::StrCat("PRAGMA incremental_vacuum(", kVacuumPages, ")")
                .c_str());
        !s.ok()) {
      return s;
    }
  }
  return deleted;
}

uint64_t Database::LiveBytes() {
  absl::StatusOr<int64_t> pages = QueryInt("PRAGMA page_count");
  absl::StatusOr<int64_t> free_pages = QueryInt("PRAGMA freelist_count");
  absl::StatusOr<int64_t> size = QueryInt("PRAGMA page_size");
  if (!pages.ok() || !free_pages.ok() || !size.ok()) return 0;
  return static_cast<uint64_t>(std::max<int64_t>(*pages - *free_pages, 0)) *
         static_cast<uint64_t>(*size);
}

uint64_t Database::FileBytes() {
  absl::StatusOr<int64_t> pages = QueryInt("PRAGMA page_count");
  absl::StatusOr<int64_t> size = QueryInt("PRAGMA page_size");
  if (!pages.ok() || !size.ok()) return 0;
  return static_cast<uint64_t>(*pages) * static_cast<uint64_t>(*size);
}

}  // namespace scopedfs::audit
