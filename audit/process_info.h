// Best-effort process names for audit events: /proc/PID/comm and the target
// of /proc/PID/exe, read by the writer thread (never by a FUSE thread) after
// the fact, and cached briefly per pid. A process that is gone yields empty
// strings.
#ifndef SCOPEDFS_AUDIT_PROCESS_INFO_H_
#define SCOPEDFS_AUDIT_PROCESS_INFO_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
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

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_PROCESS_INFO_H_
