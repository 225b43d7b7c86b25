// The audit log of a running daemon: the hot-path entry point for FUSE
// threads (Submit, never blocks), the owner index, and the one writer thread
// that batches queued events and owner changes into the database.
//
// Hot path: Submit() is one lock-free push. When the queue is full the event
// is dropped and counted (dropped_queue_full): a FUSE reply never waits for
// the audit. Events of rules with `audit: false` are only counted
// (CountUnstored).
//
// Writer thread: drains up to max_batch events plus every pending owner
// change into one transaction, then lingers 5 ms (sleeps 50 ms when idle) so
// that batches stay large at any event or owner-change rate. Producers wake
// it early only when the queue is a quarter full, or for an owner change
// while it sleeps idle (owner changes should be durable promptly: within
// the linger at most), so an event costs a push and no system call, and a
// stream of creates, renames and unlinks one transaction per 5 ms rather
// than one per change. If a commit fails (disk full, I/O error) the events of that
// batch are dropped and counted (dropped_db_error) and the owner changes are
// kept and retried. Retention runs in small steps between batches (at most
// once a second).
#ifndef SCOPEDFS_AUDIT_AUDIT_LOG_H_
#define SCOPEDFS_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "audit/database.h"
#include "audit/event.h"
#include "audit/owners.h"
#include "audit/process_info.h"
#include "audit/queue.h"

namespace scopedfs::audit {

struct AuditLogOptions {
  // Slots are 16 bytes (a pointer and a sequence); an event takes memory
  // only while it waits. 262,144: a burst of 100,000 opens over
  // fuse-over-io-uring (faster than the writer, which runs at nice 10)
  // fits with room to spare on 2 cores (tests/audit_mount_test.cc).
  size_t queue_capacity = size_t{1} << 18;
  size_t max_batch = 4096;
  // Retention: events older than this go (0: no age limit).
  absl::Duration max_age = absl::Hours(24 * 30);
  // Live data above this many bytes: the oldest events go (0: no limit).
  uint64_t max_bytes = uint64_t{1} << 30;
  // Called (from the writer thread) for errors worth a log line.
  std::function<void(const std::string&)> on_error;
};

class AuditLog {
 public:
  // Opens (creating) the database at `path`, loads the owner index and
  // starts the writer thread.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path,
                                                        AuditLogOptions options);
  // Stops: the writer drains what is queued, commits and exits.
  ~AuditLog();

  // Hot path (any thread): queues `event`; false if it was dropped.
  bool Submit(Event&& event);
  // An allow by a rule with `audit: false`: counted, not stored.
  void CountUnstored() { unstored_.fetch_add(1, std::memory_order_relaxed); }

  OwnerIndex& owners() { return owners_; }

  // The largest id committed so far.
  uint64_t last_committed_id() const;
  // Waits until an id > `after_id` is committed or `timeout` passes; returns
  // last_committed_id().
  uint64_t WaitForCommit(uint64_t after_id, absl::Duration timeout);
  // Waits until everything submitted before the call is committed (or
  // dropped) or `timeout` passes; true if it was. For tests and shutdown.
  bool Flush(absl::Duration timeout);

  // While the last commit failed (its owner changes wait in memory for a
  // retry): the errno a new file should be refused with, ENOSPC when the
  // database's file system is full, else EIO; 0 when commits succeed. The
  // daemon refuses creations then rather than make files whose owner it
  // might never record.
  int OwnerStoreErrno() const {
    return owner_store_errno_.load(std::memory_order_relaxed);
  }

  // Reads with a connection of its own (any thread).
  absl::StatusOr<std::vector<v1::AuditEvent>> Query(
      const v1::AuditFilter& filter, uint64_t after_id, uint64_t before_id,
      bool newest_first, size_t limit);

  struct Counters {
    uint64_t submitted = 0;           // Submit calls
    uint64_t stored = 0;              // events committed
    uint64_t unstored_by_rule = 0;    // audit: false
    uint64_t dropped_queue_full = 0;
    uint64_t dropped_db_error = 0;
    uint64_t batches = 0;
    uint64_t retention_deleted = 0;
    uint64_t queue_depth = 0;         // gauge
    uint64_t owner_changes_pending = 0;  // gauge: logged, not yet committed
    uint64_t owners = 0;              // gauge
    uint64_t db_live_bytes = 0;       // gauge (as of the last batch)
    uint64_t db_file_bytes = 0;       // gauge
  };
  Counters counters() const;

 private:
  AuditLog(std::string path, AuditLogOptions options,
           std::unique_ptr<Database> db);
  void WriterLoop();
  // Commits one batch (events popped, every pending owner change); returns
  // the number of events popped, and the owner changes in `*n_changes`.
  size_t WriteBatch(std::vector<Event>* batch, size_t* n_changes);
  void MaybeEnforceRetention(absl::Time now);
  void ReportError(const std::string& message);
  // Wakes the writer if it sleeps (any thread).
  void WakeWriter();
  // Wakes it only if it sleeps idle, not while it lingers after a batch
  // (it writes the next one within kBatchInterval anyway): for owner changes.
  void WakeWriterIfIdle();

  const std::string path_;
  const AuditLogOptions options_;
  std::unique_ptr<Database> db_;  // the writer thread's connection
  // Events by pointer: a slot costs 16 bytes, not an Event's ~300, so a
  // deep queue is cheap until it fills.
  BoundedQueue<std::unique_ptr<Event>> queue_;
  OwnerIndex owners_;
  ProcessInfoCache process_info_;  // writer thread only

  // Writer sleep/wake: see WakeWriter and WriterLoop.
  mutable absl::Mutex mu_;
  absl::CondVar wake_cv_;    // the writer waits on it
  absl::CondVar commit_cv_;  // WaitForCommit and Flush wait on it
  std::atomic<bool> sleeping_{false};
  // The writer sleeps idle (kIdleWait): nothing was written in its last
  // round. See WakeWriterIfIdle.
  std::atomic<bool> idle_{false};
  // Queue depth from which Submit wakes a sleeping writer.
  size_t wake_threshold_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_requested_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t last_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_retention_ = absl::InfinitePast();  // writer thread only
  int consecutive_failures_ = 0;                       // writer thread only

  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> stored_{0};
  std::atomic<uint64_t> unstored_{0};
  std::atomic<uint64_t> dropped_queue_full_{0};
  std::atomic<uint64_t> dropped_db_error_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> retention_deleted_{0};
  std::atomic<uint64_t> live_bytes_{0};
  std::atomic<uint64_t> file_bytes_{0};
  // Owner changes committed (OwnerIndex::changes_logged() counts them in).
  std::atomic<uint64_t> owner_changes_done_{0};
  std::atomic<int> owner_store_errno_{0};  // See OwnerStoreErrno.

  std::thread writer_;
};

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_AUDIT_LOG_H_
