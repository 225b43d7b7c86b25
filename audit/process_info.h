// Best-effort process names for audit events: /proc/PID/comm and the target
// of /proc/PID/exe, read by the writer thread (never by a FUSE thread) after
// the fact, and cached briefly per pid. A process that is gone yields empty
// strings.
#ifndef SCOPEDFS_AUDIT_PROCESS_INFO_H_
#define SCOPEDFS_AUDIT_PROCESS_INFO_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace scopedfs::audit {

class ProcessInfoCache {
 public:
  struct Info {
    std::string comm;
    std::string exe;
  };
  // Entries older than `ttl` are read again (pids are reused).
  explicit ProcessInfoCache(absl::Duration ttl = absl::Seconds(1),
                            size_t max_entries = 4096);
  // Not thread-safe: one writer thread owns it.
  const Info& Lookup(uint32_t pid, absl::Time now);

 private:
  struct Entry {
    Info info;
    absl::Time read_at;
  };
  const absl::Duration ttl_;
  const size_t max_entries_;
  absl::flat_hash_map<uint32_t, Entry> entries_;
};

// The same, safe for many threads (sharded by pid): the daemon names the
// caller while its request is in flight, so even a process that exits right
// after gets its name; each pid costs two /proc reads per second.
class SharedProcessInfoCache {
 public:
  ProcessInfoCache::Info Lookup(uint32_t pid) {
    Shard& s = shards_[pid % kShards];
    absl::MutexLock lock(&s.mu);
    return s.cache.Lookup(pid, absl::Now());
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    absl::Mutex mu;
    ProcessInfoCache cache ABSL_GUARDED_BY(mu);
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_PROCESS_INFO_H_
