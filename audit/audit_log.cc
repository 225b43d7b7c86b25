#include "audit/audit_log.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"

namespace scopedfs::audit {
namespace {

// With nothing queued the writer wakes this often (retention, retries, and
// events that arrived without waking it).
constexpr absl::Duration kIdleWait = absl::Milliseconds(50);
// After a batch it lingers this long so the next one is bigger: at a steady
// trickle of events one transaction per event (and a wake-up per event)
// would cost far more than the events themselves.
constexpr absl::Duration kBatchInterval = absl::Milliseconds(5);
constexpr absl::Duration kRetentionInterval = absl::Seconds(1);
constexpr size_t kRetentionStepRows = 2000;
constexpr int kRetentionMaxSteps = 5;
// On shutdown, give up on owner changes after this many failed commits.
constexpr int kMaxFailuresAtStop = 3;

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    const std::string& path, AuditLogOptions options) {
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(path, Database::Mode::kReadWrite);
  if (!db.ok()) return db.status();
  absl::StatusOr<std::vector<std::pair<std::string, Owner>>> owners =
      (*db)->LoadOwners();
  if (!owners.ok()) return owners.status();
  absl::StatusOr<uint64_t> last = (*db)->LastId();
  if (!last.ok()) return last.status();

  std::unique_ptr<AuditLog> log(
      new AuditLog(path, std::move(options), *std::move(db)));
  log->owners_.Load(*std::move(owners));
  {
    absl::MutexLock lock(&log->mu_);
    log->last_id_ = *last;
  }
  log->live_bytes_.store(log->db_->LiveBytes(), std::memory_order_relaxed);
  log->file_bytes_.store(log->db_->FileBytes(), std::memory_order_relaxed);
  AuditLog* self = log.get();
  log->owners_.SetChangeListener([self] { self->WakeWriterIfIdle(); });
  log->writer_ = std::thread([self] { self->WriterLoop(); });
  return log;
}

AuditLog::AuditLog(std::string path, AuditLogOptions options,
                   std::unique_ptr<Database> db)
    : path_(std::move(path)),
      options_(std::move(options)),
      db_(std::move(db)),
      queue_(options_.queue_capacity),
      wake_threshold_(std::max<size_t>(1, queue_.capacity() / 4)) {}

AuditLog::~AuditLog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    wake_cv_.Signal();
  }
  if (writer_.joinable()) writer_.join();
}

bool AuditLog::Submit(Event&& event) {
  submitted_.fetch_add(1, std::memory_order_relaxed);
  if (!queue_.TryPush(std::make_unique<Event>(std::move(event)))) {
    dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Only a filling queue wakes the writer early; otherwise it comes by
  // within kBatchInterval / kIdleWait on its own (no system call here).
  if (queue_.SizeApprox() >= wake_threshold_) WakeWriter();
  return true;
}

void AuditLog::WakeWriter() {
  // Pairs with the fence in WriterLoop: either the writer's re-check sees
  // what we queued, or we see it asleep (Dekker). Only one waker takes the
  // mutex per sleep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!sleeping_.load(std::memory_order_relaxed)) return;
  if (!sleeping_.exchange(false, std::memory_order_seq_cst)) return;
  absl::MutexLock lock(&mu_);
  wake_requested_ = true;
  wake_cv_.Signal();
}

void AuditLog::WakeWriterIfIdle() {
  // Pairs with the fence in WriterLoop, as in WakeWriter: either the writer
  // sees the change before it sleeps, or we see it idle.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!idle_.load(std::memory_order_relaxed)) return;
  WakeWriter();
}

void AuditLog::ReportError(const std::string& message) {
  if (options_.on_error) options_.on_error(message);
}

size_t AuditLog::WriteBatch(std::vector<Event>* batch, size_t* n_changes_out) {
  *n_changes_out = 0;
  batch->clear();
  const size_t max_batch = std::max<size_t>(options_.max_batch, 1);
  std::unique_ptr<Event> e;
  while (batch->size() < max_batch && queue_.TryPop(&e)) {
    batch->push_back(std::move(*e));
  }
  std::vector<OwnerChange> changes = owners_.TakeChanges();
  if (batch->empty() && changes.empty()) return 0;

  const absl::Time now = absl::Now();
  for (Event& ev : *batch) {
    if (ev.comm.empty() && ev.exe.empty()) {
      const ProcessInfoCache::Info& info = process_info_.Lookup(ev.pid, now);
      ev.comm = info.comm;
      ev.exe = info.exe;
    }
  }
  const size_t n_events = batch->size();
  const size_t n_changes = changes.size();
  *n_changes_out = n_changes;
  absl::StatusOr<uint64_t> last = db_->Commit(*batch, changes);
  if (last.ok()) {
    consecutive_failures_ = 0;
    owner_store_errno_.store(0, std::memory_order_relaxed);
    batches_.fetch_add(1, std::memory_order_relaxed);
    live_bytes_.store(db_->LiveBytes(), std::memory_order_relaxed);
    file_bytes_.store(db_->FileBytes(), std::memory_order_relaxed);
    stored_.fetch_add(n_events, std::memory_order_relaxed);
    owner_changes_done_.fetch_add(n_changes, std::memory_order_release);
    absl::MutexLock lock(&mu_);
    last_id_ = std::max(last_id_, *last);
    commit_cv_.SignalAll();
  } else {
    ++consecutive_failures_;
    owner_store_errno_.store(
        last.status().code() == absl::StatusCode::kResourceExhausted ? ENOSPC
                                                                     : EIO,
        std::memory_order_relaxed);
    dropped_db_error_.fetch_add(n_events, std::memory_order_relaxed);
    owners_.ReturnChanges(std::move(changes));
    ReportError(absl::StrCat("audit: commit failed (", n_events,
                             " events dropped, ", n_changes,
                             " owner changes kept for retry): ",
                             last.status().ToString()));
    absl::MutexLock lock(&mu_);
    commit_cv_.SignalAll();  // Flush counts drops as done
  }
  return n_events;
}

void AuditLog::MaybeEnforceRetention(absl::Time now) {
  if (now - last_retention_ < kRetentionInterval) return;
  last_retention_ = now;
  int64_t min_time = 0;
  if (options_.max_age > absl::ZeroDuration() &&
      options_.max_age != absl::InfiniteDuration()) {
    min_time = absl::ToUnixNanos(now - options_.max_age);
    if (min_time <= 0) min_time = 0;
  }
  if (min_time == 0 && options_.max_bytes == 0) return;
  bool deleted_any = false;
  for (int step = 0; step < kRetentionMaxSteps; ++step) {
    absl::StatusOr<size_t> n =
        db_->EnforceRetention(min_time, options_.max_bytes, kRetentionStepRows);
    if (!n.ok()) {
      ReportError(absl::StrCat("audit: retention failed: ",
                               n.status().ToString()));
      break;
    }
    retention_deleted_.fetch_add(*n, std::memory_order_relaxed);
    deleted_any = deleted_any || *n > 0;
    if (*n < kRetentionStepRows) break;
  }
  if (deleted_any) {
    live_bytes_.store(db_->LiveBytes(), std::memory_order_relaxed);
    file_bytes_.store(db_->FileBytes(), std::memory_order_relaxed);
  }
}

void AuditLog::WriterLoop() {
  // Background work: on a busy machine the FUSE threads (and the clients
  // they answer) go first; the queue absorbs the bursts, and a filling
  // queue still wakes the writer. Linux applies nice per thread.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  std::vector<Event> batch;
  batch.reserve(std::min<size_t>(std::max<size_t>(options_.max_batch, 1),
                                 size_t{1} << 16));
  for (;;) {
    size_t changes = 0;
    const size_t popped = WriteBatch(&batch, &changes);
    MaybeEnforceRetention(absl::Now());
    if (popped >= std::max<size_t>(options_.max_batch, 1)) continue;

    absl::MutexLock lock(&mu_);
    if (stop_) {
      // Drain what is queued; owner changes unless the database keeps
      // failing (they would be lost either way).
      if (queue_.SizeApprox() == 0 &&
          (owners_.pending_changes() == 0 ||
           consecutive_failures_ >= kMaxFailuresAtStop)) {
        break;
      }
      continue;
    }
    if (consecutive_failures_ > 0) {
      // Back off before retrying the owner changes; stop wakes us.
      wake_cv_.WaitWithTimeout(&mu_, kIdleWait);
      continue;
    }
    // After a batch it lingers (kBatchInterval): events and owner changes
    // made meanwhile go into the next one. Idle (nothing written), it
    // sleeps longer, and an owner change wakes it (WakeWriterIfIdle).
    const bool linger =
        popped > 0 || changes > 0 || queue_.SizeApprox() > 0;
    idle_.store(!linger, std::memory_order_seq_cst);
    sleeping_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!wake_requested_ && queue_.SizeApprox() < wake_threshold_ &&
        (linger || owners_.pending_changes() == 0)) {
      wake_cv_.WaitWithTimeout(&mu_, linger ? kBatchInterval : kIdleWait);
    }
    sleeping_.store(false, std::memory_order_seq_cst);
    idle_.store(false, std::memory_order_seq_cst);
    wake_requested_ = false;
  }
  if (owners_.pending_changes() > 0) {
    ReportError(absl::StrCat("audit: ", owners_.pending_changes(),
                             " owner changes could not be stored"));
  }
}

uint64_t AuditLog::last_committed_id() const {
  absl::MutexLock lock(&mu_);
  return last_id_;
}

uint64_t AuditLog::WaitForCommit(uint64_t after_id, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (last_id_ <= after_id) {
    if (commit_cv_.WaitWithDeadline(&mu_, deadline)) break;
  }
  return last_id_;
}

bool AuditLog::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const uint64_t events = submitted_.load(std::memory_order_seq_cst);
  const uint64_t changes = owners_.changes_logged();
  auto done = [&] {
    return stored_.load(std::memory_order_relaxed) +
                   dropped_db_error_.load(std::memory_order_relaxed) +
                   dropped_queue_full_.load(std::memory_order_relaxed) >=
               events &&
           owner_changes_done_.load(std::memory_order_relaxed) >= changes;
  };
  absl::MutexLock lock(&mu_);
  wake_requested_ = true;  // don't wait for the idle timeout
  wake_cv_.Signal();
  while (!done()) {
    const absl::Time now = absl::Now();
    if (now >= deadline) return false;
    // Drops at Submit take no lock: poll as well as wait.
    commit_cv_.WaitWithDeadline(
        &mu_, std::min(deadline, now + absl::Milliseconds(10)));
  }
  return true;
}

absl::StatusOr<std::vector<v1::AuditEvent>> AuditLog::Query(
    const v1::AuditFilter& filter, uint64_t after_id, uint64_t before_id,
    bool newest_first, size_t limit) {
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(path_, Database::Mode::kReadOnly);
  if (!db.ok()) return db.status();
  return (*db)->Query(filter, after_id, before_id, newest_first, limit);
}

AuditLog::Counters AuditLog::counters() const {
  Counters c;
  c.submitted = submitted_.load(std::memory_order_relaxed);
  c.stored = stored_.load(std::memory_order_relaxed);
  c.unstored_by_rule = unstored_.load(std::memory_order_relaxed);
  c.dropped_queue_full = dropped_queue_full_.load(std::memory_order_relaxed);
  c.dropped_db_error = dropped_db_error_.load(std::memory_order_relaxed);
  c.batches = batches_.load(std::memory_order_relaxed);
  c.retention_deleted = retention_deleted_.load(std::memory_order_relaxed);
  c.queue_depth = queue_.SizeApprox();
  // Logged but not committed, those in the writer's hands included. Done is
  // read first: it never passes what was logged before it.
  const uint64_t done = owner_changes_done_.load(std::memory_order_acquire);
  c.owner_changes_pending = owners_.changes_logged() - done;
  c.owners = owners_.size();
  c.db_live_bytes = live_bytes_.load(std::memory_order_relaxed);
  c.db_file_bytes = file_bytes_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace scopedfs::audit
