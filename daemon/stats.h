// Counters the daemon keeps about the requests it serves. They are how tests
// prove that passthrough really bypassed the daemon (read/write requests stay
// at zero for a passthrough file) and how operators see what the mount does.
#ifndef SCOPEDFS_DAEMON_STATS_H_
#define SCOPEDFS_DAEMON_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scopedfs {

// Latencies in power-of-two buckets from 256 ns to ~67 ms (and above): one
// relaxed increment per observation, no locks.
class LatencyHistogram {
 public:
  static constexpr int kBounds = 19;  // 2^8 .. 2^26 ns
  void Record(uint64_t nanos);

  struct Snapshot {
    std::vector<double> bounds_seconds;  // kBounds upper bounds
    std::vector<uint64_t> counts;        // kBounds + 1 (last: above all)
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  Snapshot Read() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds + 1> buckets_{};
  std::atomic<uint64_t> sum_nanos_{0};
};

// Nanoseconds on the monotonic clock (for latencies).
uint64_t MonotonicNanos();

struct Stats {
  using Counter = std::atomic<uint64_t>;
  Counter read_requests{0};   // READ requests served by the daemon.
  Counter read_bytes{0};
  Counter write_requests{0};  // WRITE requests served by the daemon.
  Counter write_bytes{0};
  Counter opens_passthrough{0};  // Reads/writes/mmap go to the kernel.
  Counter opens_direct_passthrough{0};  // FOPEN_DIRECT_IO|FOPEN_PASSTHROUGH.
  Counter opens_cached{0};  // Served by the daemon through the page cache.
  Counter opens_redacted{0};  // Redacted views (both kinds below).
  // Redacted opens the kernel serves through passthrough over a reflinked,
  // zeroed copy (daemon/reflinked_views.h); copies made; opens that found
  // every allowed copy in use (served by the daemon instead); and opens
  // that found the view's node bound to an older version's copy (ESTALE,
  // and the kernel looked the name up again into a new node).
  Counter redacted_copy_opens{0};
  Counter redacted_copies_made{0};
  Counter redacted_copies_full{0};
  Counter redacted_view_renewals{0};
  Counter redacted_reads{0};
  // Redacted opens refused because no redactor could vouch for the file
  // (unknown or unparseable format), and views re-planned because the file
  // changed under an open redacted descriptor.
  Counter redacted_opens_refused{0};
  Counter redacted_replans{0};
  // Redacted reads that failed (EIO) because the file kept changing.
  Counter redacted_reads_unstable{0};
  // Redacted reads served from a whole-file snapshot (a writer kept the
  // file changing through every attempt).
  Counter redacted_snapshot_reads{0};
  // Content sniffs (a file's first bytes read for its class), and those that
  // failed (the decision then fails closed).
  Counter content_sniffs{0};
  Counter content_sniff_failures{0};
  Counter backing_registered{0};
  Counter backing_released{0};
  Counter backing_failures{0};
  // Policy decisions (cache hits included) by outcome.
  Counter decisions_allow{0};
  Counter decisions_deny{0};
  Counter decisions_hide{0};
  Counter decisions_redacted_denied{0};  // ALLOW_REDACTED, failed closed.
  // Decisions a shadow policy would have made differently.
  Counter shadow_differing{0};
  // Open handles whose access a policy or grant change removed: refused
  // reads and writes of revocable ones (each handle once), and unrevocable
  // (passthrough) ones found at a change.
  Counter handles_revoked{0};
  Counter handles_unrevocable{0};

  // EMFILE or ENFILE from the backing file system, process-wide (the
  // errors are noted where no Stats is at hand): counted as
  // descriptor_exhaustion_errors.
  static void CountDescriptorExhaustion() {
    descriptor_exhaustion_.fetch_add(1, std::memory_order_relaxed);
  }
  static inline std::atomic<uint64_t> descriptor_exhaustion_{0};
  Counter decision_cache_hits{0};
  Counter lookups{0};
  Counter forgets{0};
  // Entries the kernel was asked to drop to keep the node table within
  // --max_nodes (NodeReclaimer).
  Counter node_reclaim_requests{0};
  // Kernel caches of a file's other names' nodes dropped after a change
  // through one (InodeInvalidator).
  Counter inode_invalidations{0};
  // Readdir entries left out because the policy hides them from the caller
  // (counted only; lookups of hidden names are audited).
  Counter readdir_hidden{0};
  // Requests about a node of an app view by a caller that may not enter it
  // (MOUNT/.apps/<uid>: only that uid and root), refused with EACCES.
  Counter app_view_refusals{0};
  // Policy or owner changes that made every kernel entry stale at once
  // (FUSE_NOTIFY_INC_EPOCH) instead of one by one.
  Counter kernel_epoch_bumps{0};
  // Kernel entries and listings of other trees (the shared mount, app views)
  // dropped after a name changed through one of them.
  Counter cross_tree_invalidations{0};
  // Decisions by operation (v1::Operation) and outcome (v1::Action).
  static constexpr int kOps = 8;
  static constexpr int kActions = 5;
  std::array<std::array<Counter, kActions>, kOps> decisions_by_op{};
  // Time to decide an access (decision cache included) and to serve an open
  // (decision, backing open, passthrough setup: the whole OPEN request).
  LatencyHistogram decision_latency;
  LatencyHistogram open_latency;

  static void Add(Counter& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }

  // Counts a decision by operation and outcome.
  void CountDecision(int op, int action) {
    if (op >= 0 && op < kOps && action >= 0 && action < kActions) {
      Add(decisions_by_op[op][action]);
    }
  }

  // Visits every counter by name (gauge: false), then the gauges (true):
  // nodes, open_fds, open_pipe_fds (libfuse keeps a splice pipe pair per
  // worker thread).
  // Decisions by operation are named
  // decisions{operation="read",decision="allow"} (Prometheus style).
  void ForEach(size_t nodes,
               const std::function<void(const std::string& name, uint64_t value,
                                        bool gauge)>& fn) const;
};



}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_STATS_H_
