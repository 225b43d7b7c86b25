// Counters the daemon keeps about the requests it serves. They are how tests
// prove that passthrough really bypassed the daemon (read/write requests stay
// at zero for a passthrough file) and how operators see what the mount does.
#ifndef SCOPEDFS_DAEMON_STATS_H_
#define SCOPEDFS_DAEMON_STATS_H_

#include <atomic>
#include <cstdint>
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
  Counter backing_registered{0};
  Counter backing_released{0};
  Counter backing_failures{0};
  Counter lookups{0};
  Counter forgets{0};

  static void Add(Counter& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

// "name value" lines, one per counter, plus the node count and the daemon's
// open descriptor count (for leak checks).
std::string RenderStats(const Stats& stats, size_t nodes, uint64_t sequence);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_STATS_H_
