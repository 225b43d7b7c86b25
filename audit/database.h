// The audit database: one SQLite file (STATE_DIR/audit.db) with two tables,
// `audit` (one row per stored event) and `owners` (the owner store).
//
// WAL journal with synchronous=NORMAL: a committed transaction survives the
// daemon being killed (kill -9); only a power cut can lose the last ones.
// auto_vacuum=INCREMENTAL, so retention gives space back a little at a time.
// Ids come from AUTOINCREMENT: strictly increasing, never reused even after
// retention deleted every row, so a stream can resume after an id.
//
// One Database object is one connection: use it from one thread at a time.
// The writer thread has its own; each reader (query, stream) opens one
// read-only (WAL readers never block the writer).
#ifndef SCOPEDFS_AUDIT_DATABASE_H_
#define SCOPEDFS_AUDIT_DATABASE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "audit/event.h"
#include "audit/owners.h"
#include "scopedfs/v1/audit.pb.h"

struct sqlite3;
struct sqlite3_stmt;

namespace scopedfs::audit {

class Database {
 public:
  enum class Mode { kReadWrite, kReadOnly };
  // The mode a new database file gets (whatever the umask); SQLite gives
  // its -wal and -shm files the same. Only the daemon reads them: admins
  // read the trail through the admin API.
  static constexpr mode_t kFileMode = 0600;
  // Opens (kReadWrite: creating the file, kFileMode, and schema if needed)
  // `path`.
  // A file that is not a scopedfs audit database (or a newer schema
  // version) is an error, never silently replaced.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        Mode mode);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // One transaction: applies `changes` to `owners` in order, then inserts
  // `events` (ids assigned in order). On error nothing is applied.
  // Returns the id of the last inserted event (unchanged if none).
  absl::StatusOr<uint64_t> Commit(absl::Span<const Event> events,
                                  absl::Span<const OwnerChange> changes);

  // Events matching `filter` with after_id < id < before_id (before_id 0:
  // no bound), by id ascending (or descending with newest_first), at most
  // `limit`.
  absl::StatusOr<std::vector<v1::AuditEvent>> Query(
      const v1::AuditFilter& filter, uint64_t after_id, uint64_t before_id,
      bool newest_first, size_t limit);

  // All owner records.
  absl::StatusOr<std::vector<std::pair<std::string, Owner>>> LoadOwners();

  // Whether every page of the file is sound (SQLite's quick_check: reads
  // the whole file, O(size)); DataLoss naming the first problems if not.
  absl::Status CheckIntegrity();

  // The largest id ever assigned (0 if none).
  absl::StatusOr<uint64_t> LastId();

  // Retention, a bounded step: deletes at most `max_rows` of the oldest
  // events that are older than `min_time_unix_nanos` (0: no age limit) or
  // that make the live data exceed `max_bytes` (0: no size limit), then
  // gives up to a few hundred free pages back to the file system. Returns
  // the number of rows deleted (call again while it is max_rows).
  absl::StatusOr<size_t> EnforceRetention(int64_t min_time_unix_nanos,
                                          uint64_t max_bytes, size_t max_rows);

  // Bytes used by live data (pages minus free pages) and the file size.
  uint64_t LiveBytes();
  uint64_t FileBytes();

 private:
  Database(sqlite3* db, std::string path);
  absl::Status Initialize(Mode mode);
  // Brings an older schema up to this build's, one version per transaction.
  absl::Status Upgrade();
  absl::Status Exec(const char* sql);
  absl::Status Error(absl::string_view what) const;
  absl::StatusOr<int64_t> QueryInt(const char* sql);
  absl::StatusOr<sqlite3_stmt*> Prepare(const std::string& sql);
  absl::Status ApplyChange(const OwnerChange& change);
  absl::Status InsertOwner(absl::string_view path, const Owner& owner);
  absl::Status RemoveTreeRows(absl::string_view root);
  absl::StatusOr<std::vector<std::pair<std::string, Owner>>> SelectTree(
      absl::string_view root);
  // Steps `s` (selecting path, app, uid, dev, ino, time_ns) to the end.
  absl::StatusOr<std::vector<std::pair<std::string, Owner>>> ReadOwners(
      sqlite3_stmt* s);
  absl::StatusOr<size_t> DeleteOldest(const char* sql, int64_t bound,
                                      size_t limit);

  sqlite3* db_;
  // False for a read-only file of schema version < 3.
  bool events_have_redaction_ = true;
  // False for a read-only file of schema version < 4.
  bool events_have_shadow_ = true;
  const std::string path_;
  uint64_t last_id_ = 0;
  // Prepared once (read-write connections).
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* set_owner_ = nullptr;
  sqlite3_stmt* remove_owner_ = nullptr;
  sqlite3_stmt* remove_tree_ = nullptr;
  sqlite3_stmt* move_tree_ = nullptr;
  sqlite3_stmt* select_tree_ = nullptr;
};

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_DATABASE_H_
