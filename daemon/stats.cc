#include "daemon/stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <time.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs {
namespace {

struct FdCounts {
  uint64_t all = 0;
  uint64_t pipes = 0;  // libfuse keeps one splice pipe pair per worker thread.
};

FdCounts CountOpenFds() {
  FdCounts counts;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return counts;
  const int own = dirfd(dir);
  while (dirent* de = readdir(dir)) {
    if (de->d_name[0] == '.' || atoi(de->d_name) == own) continue;
    ++counts.all;
    char target[64];
    const ssize_t n = readlinkat(own, de->d_name, target, sizeof(target) - 1);
    if (n > 5 && std::strncmp(target, "pipe:", 5) == 0) ++counts.pipes;
  }
  closedir(dir);
  return counts;
}

}  // namespace

uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<uint64_t>(ts.tv_nsec);
}

void LatencyHistogram::Record(uint64_t nanos) {
  int bucket = 0;
  while (bucket < kBounds && nanos > (uint64_t{256} << bucket)) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::Read() const {
  Snapshot s;
  for (int i = 0; i < kBounds; ++i) {
    s.bounds_seconds.push_back(static_cast<double>(uint64_t{256} << i) * 1e-9);
  }
  for (const auto& b : buckets_) {
    s.counts.push_back(b.load(std::memory_order_relaxed));
    s.count += s.counts.back();
  }
  s.sum_seconds = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) * 1e-9;
  return s;
}

void Stats::ForEach(
    size_t nodes,
    const std::function<void(const std::string&, uint64_t, bool)>& fn) const {
  static constexpr struct {
    const char* name;
    Counter Stats::*counter;
  } kCounters[] = {
      {"read_requests", &Stats::read_requests},
      {"read_bytes", &Stats::read_bytes},
      {"write_requests", &Stats::write_requests},
      {"write_bytes", &Stats::write_bytes},
      {"opens_passthrough", &Stats::opens_passthrough},
      {"opens_direct_passthrough", &Stats::opens_direct_passthrough},
      {"opens_cached", &Stats::opens_cached},
      {"opens_redacted", &Stats::opens_redacted},
      {"redacted_reads", &Stats::redacted_reads},
      {"redacted_copy_opens", &Stats::redacted_copy_opens},
      {"redacted_copies_made", &Stats::redacted_copies_made},
      {"redacted_copies_full", &Stats::redacted_copies_full},
      {"redacted_view_renewals", &Stats::redacted_view_renewals},
      {"redacted_opens_refused", &Stats::redacted_opens_refused},
      {"app_view_refusals", &Stats::app_view_refusals},
      {"cross_tree_invalidations", &Stats::cross_tree_invalidations},
      {"kernel_epoch_bumps", &Stats::kernel_epoch_bumps},
      {"redacted_replans", &Stats::redacted_replans},
      {"redacted_reads_unstable", &Stats::redacted_reads_unstable},
      {"redacted_snapshot_reads", &Stats::redacted_snapshot_reads},
      {"content_sniffs", &Stats::content_sniffs},
      {"content_sniff_failures", &Stats::content_sniff_failures},
      {"backing_registered", &Stats::backing_registered},
      {"backing_released", &Stats::backing_released},
      {"backing_failures", &Stats::backing_failures},
      {"decisions_allow", &Stats::decisions_allow},
      {"decisions_deny", &Stats::decisions_deny},
      {"decisions_hide", &Stats::decisions_hide},
      {"decisions_redacted_denied", &Stats::decisions_redacted_denied},
      {"shadow_differing", &Stats::shadow_differing},
      {"handles_revoked", &Stats::handles_revoked},
      {"handles_unrevocable", &Stats::handles_unrevocable},
      {"decision_cache_hits", &Stats::decision_cache_hits},
      {"lookups", &Stats::lookups},
      {"forgets", &Stats::forgets},
      {"node_reclaim_requests", &Stats::node_reclaim_requests},
      {"inode_invalidations", &Stats::inode_invalidations},
      {"readdir_hidden", &Stats::readdir_hidden},
  };
  for (const auto& c : kCounters) {
    fn(c.name, (this->*c.counter).load(std::memory_order_relaxed), false);
  }
  for (int op = 1; op < kOps; ++op) {
    for (int action = 1; action < kActions; ++action) {
      fn(absl::StrCat("decisions{operation=\"",
                      absl::AsciiStrToLower(v1::Operation_Name(op)),
                      "\",decision=\"",
                      absl::AsciiStrToLower(v1::Action_Name(action)), "\"}"),
         decisions_by_op[op][action].load(std::memory_order_relaxed), false);
    }
  }
  fn("nodes", nodes, true);
  const FdCounts fds = CountOpenFds();
  fn("open_fds", fds.all, true);
  fn("open_pipe_fds", fds.pipes, true);
  // The soft limit the daemon runs with (it raises it to the hard limit at
  // start): open_fds / fd_limit near 1 means EMFILE is near.
  struct rlimit rl;
  fn("fd_limit",
     getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 0,
     true);
  fn("descriptor_exhaustion_errors",
     descriptor_exhaustion_.load(std::memory_order_relaxed), false);
}


}  // namespace scopedfs
