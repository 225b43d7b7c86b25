// What a regular file's content says it is (policy::ClassifyMagic of its
// first bytes), for the policy's class conditions: a JPEG renamed "x.txt" is
// still an IMAGE. Reading the first bytes costs an open, a pread and a close,
// so each file version's class is remembered, keyed by (dev, ino) and checked
// against (size, mtime, ctime): a file rewritten in place, through the mount
// or behind its back, is read again.
#ifndef SCOPEDFS_DAEMON_CONTENT_CLASS_H_
#define SCOPEDFS_DAEMON_CONTENT_CLASS_H_

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "daemon/stats.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs {

class ContentClasses {
 public:
  explicit ContentClasses(Stats* stats) : stats_(stats) {}

  // The content class of the regular file `name` under `dirfd`, whose status
  // the caller has (`st`). nullopt when it cannot be read, or the name no
  // longer is that file: the caller must fail closed.
  std::optional<v1::FileClass> At(int dirfd, const char* name,
                                  const struct stat& st);
  // The same for the file behind an O_PATH descriptor (a node's).
  std::optional<v1::FileClass> Of(int path_fd);

 private:
  // What a file version is known by.
  struct Version {
    off_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    bool operator==(const Version& o) const {
      return size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
    }
  };
  static Version VersionOf(const struct stat& st);
  std::optional<v1::FileClass> Cached(const struct stat& st);
  // Reads the first bytes of `fd` (opened by the caller, closed here) if it
  // still is `st`'s file, and remembers the class.
  std::optional<v1::FileClass> Sniff(int fd, const struct stat& st);

  static constexpr size_t kMaxEntries = 1 << 16;
  Stats* const stats_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<dev_t, ino_t>, std::pair<Version, v1::FileClass>>
      classes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_CONTENT_CLASS_H_
