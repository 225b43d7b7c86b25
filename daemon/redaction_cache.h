// Redaction plans per file version: planning reads the file's metadata, so
// a file opened again unchanged reuses its plan. Keyed by (dev, ino, size,
// mtime, ctime, profile): any change to the file changes the key. Only plans
// whose version was verified to have held still while they were made are
// remembered (daemon/redacted_view.h). Bounded; a full cache starts over.
#ifndef SCOPEDFS_DAEMON_REDACTION_CACHE_H_
#define SCOPEDFS_DAEMON_REDACTION_CACHE_H_

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "redact/redact.h"

namespace scopedfs {

using RangeList = std::vector<redact::ByteRange>;

// One file version's redaction: its format and the ranges a view zeroes.
struct RedactionPlan {
  redact::Format format = redact::Format::kUnknown;
  RangeList ranges;
};

class RedactionCache {
 public:
  // The remembered plan of the version `st` shows, or null.
  std::shared_ptr<const RedactionPlan> Find(const struct stat& st,
                                            const redact::Profile& profile);
  // Plans the open file `fd` as it is now (`st`: its status; its size
  // bounds the parse). An error means the open must be refused.
  static absl::StatusOr<std::shared_ptr<const RedactionPlan>> Plan(
      int fd, const struct stat& st, const redact::Profile& profile);
  // Remembers `plan` for the version `st` shows.
  void Remember(const struct stat& st, const redact::Profile& profile,
                std::shared_ptr<const RedactionPlan> plan);

 private:
  using Key = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t, int64_t,
                         int64_t, int>;
  static Key KeyOf(const struct stat& st, const redact::Profile& profile);
  static constexpr size_t kMaxEntries = 4096;
  absl::Mutex mu_;
  absl::flat_hash_map<Key, std::shared_ptr<const RedactionPlan>> cache_
      ABSL_GUARDED_BY(mu_);
};

// The bits of `profile` that change what a view zeroes (for cache keys).
int ProfileBits(const redact::Profile& profile);

// "profile=NAME mode=allowlist format=jpeg ranges=N", for the audit trail.
std::string DescribeRedaction(const std::string& profile_name,
                              const redact::Profile& profile,
                              const RedactionPlan& plan);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_REDACTION_CACHE_H_
