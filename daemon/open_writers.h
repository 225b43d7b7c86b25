// Which backing files have an open for writing through the mount. A write
// can only be in progress on a file while such an open exists (the kernel
// releases an open only after its last write returns), which is what a
// redacted view needs to know to read consistently (daemon/redacted_view.h).
#ifndef SCOPEDFS_DAEMON_OPEN_WRITERS_H_
#define SCOPEDFS_DAEMON_OPEN_WRITERS_H_

#include <sys/types.h>

#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace scopedfs {

class OpenWriters {
 public:
  void Opened(dev_t dev, ino_t ino) {
    absl::MutexLock lock(&mu_);
    ++writers_[{dev, ino}];
  }
  void Closed(dev_t dev, ino_t ino) {
    absl::MutexLock lock(&mu_);
    auto it = writers_.find({dev, ino});
    if (it != writers_.end() && --it->second == 0) writers_.erase(it);
  }
  bool Any(dev_t dev, ino_t ino) const {
    absl::MutexLock lock(&mu_);
    return writers_.contains({dev, ino});
  }

 private:
  mutable absl::Mutex mu_;
  // Only files with a writer open have an entry.
  absl::flat_hash_map<std::pair<dev_t, ino_t>, uint32_t> writers_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_OPEN_WRITERS_H_
