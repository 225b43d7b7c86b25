// What an open file is to the daemon (its own descriptor of the backing
// file, and how the kernel serves it), and the table of every one the
// kernel holds. No FUSE here: the ops in daemon/fuse/ turn a request's
// fuse_file_info into a handle (daemon/fuse/file_handle.h).
#ifndef SCOPEDFS_DAEMON_OPEN_HANDLES_H_
#define SCOPEDFS_DAEMON_OPEN_HANDLES_H_

#include <unistd.h>

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "daemon/passthrough.h"
#include "daemon/redacted_view.h"
#include "daemon/reflinked_views.h"

namespace scopedfs {

struct FileHandle {
  int fd = -1;
  OpenMode mode = OpenMode::kDaemon;  // Which reference the open holds.
  bool writable = false;
  // Set for an open of a redacted view: the daemon's reads go through it,
  // unless the kernel serves the view over a reflinked copy (`copy`, then
  // what the daemon reads for O_DIRECT and copy_file_range).
  std::unique_ptr<RedactedView> redacted;
  std::shared_ptr<const ViewCopy> copy;
  // The descriptor the daemon's reads of the file's content use.
  int content_fd() const { return copy != nullptr ? copy->fd() : fd; }
};

// The value the kernel keeps for an open (fi->fh) is the handle's address.
inline FileHandle& HandleAt(uint64_t fh) {
  return *reinterpret_cast<FileHandle*>(static_cast<uintptr_t>(fh));
}

// Every handle the kernel holds: the kernel gives each back in RELEASE,
// except when the daemon stops first (files still open at shutdown), and
// then this frees them.
class OpenHandles {
 public:
  OpenHandles() = default;
  OpenHandles(const OpenHandles&) = delete;
  OpenHandles& operator=(const OpenHandles&) = delete;
  ~OpenHandles() {
    for (FileHandle* h : handles_) {
      close(h->fd);
      delete h;
    }
  }
  // Keeps `h` and returns the value for fi->fh.
  uint64_t Adopt(std::unique_ptr<FileHandle> h) {
    absl::MutexLock lock(&mu_);
    FileHandle* raw = h.release();
    handles_.insert(raw);
    return reinterpret_cast<uintptr_t>(raw);
  }
  // Gives back the handle `fh` (RELEASE, or an open the kernel refused).
  std::unique_ptr<FileHandle> Take(uint64_t fh) {
    FileHandle* raw = &HandleAt(fh);
    absl::MutexLock lock(&mu_);
    handles_.erase(raw);
    return std::unique_ptr<FileHandle>(raw);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<FileHandle*> handles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_OPEN_HANDLES_H_
