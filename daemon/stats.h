// Counters the daemon keeps about the requests it serves. They are how tests
// prove that passthrough really bypassed the daemon (read/write requests stay
// at zero for a passthrough file) and how operators see what the mount does.
#ifndef SCOPEDFS_DAEMON_STATS_H_
#define SCOPEDFS_DAEMON_STATS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace scopedfs {

struct Stats {
  using Counter = std::atomic<uint64_t>;
  Counter read_requests{0};   // READ requests served by the daemon.
  Counter read_bytes{0};
  Counter write_requests{0};  // WRITE requests served by the daemon.
  Counter write_bytes{0};
  Counter opens_passthrough{0};  // Reads/writes/mmap go to the kernel.
  Counter opens_direct_passthrough{0};  // FOPEN_DIRECT_IO|FOPEN_PASSTHROUGH.
  Counter opens_cached{0};  // Served by the daemon through the page cache.
  Counter opens_redacted{0};  // Redacted views, served by the daemon.
  Counter redacted_reads{0};
  Counter backing_registered{0};
  Counter backing_released{0};
  Counter backing_failures{0};
  // Policy decisions (cache hits included) by outcome.
  Counter decisions_allow{0};
  Counter decisions_deny{0};
  Counter decisions_hide{0};
  Counter decisions_redacted_denied{0};  // ALLOW_REDACTED, failed closed.
  Counter decision_cache_hits{0};
  Counter lookups{0};
  Counter forgets{0};

  static void Add(Counter& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }

  // Visits every counter by name, then the gauges: nodes, open_fds,
  // open_pipe_fds (libfuse keeps a splice pipe pair per worker thread).
  void ForEach(size_t nodes,
               const std::function<void(const char*, uint64_t)>& fn) const;
};

// "name value" lines (sequence first), for the SIGUSR1 dump.
std::string RenderStats(const Stats& stats, size_t nodes, uint64_t sequence);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_STATS_H_
