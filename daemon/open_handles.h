// What an open file is to the daemon (its own descriptor of the backing
// file, and how the kernel serves it), and the table of every one the
// kernel holds. No FUSE here: the ops in daemon/fuse/ turn a request's
// fuse_file_info into a handle (daemon/fuse/file_handle.h).
#ifndef SCOPEDFS_DAEMON_OPEN_HANDLES_H_
#define SCOPEDFS_DAEMON_OPEN_HANDLES_H_

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "daemon/passthrough.h"
#include "daemon/redacted_view.h"
#include "daemon/reflinked_views.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs {

// Who holds an open and what it was decided as: what `scopedctl handles`
// lists, and what a policy change is checked against (revocation).
struct HandleOwner {
  uint64_t id = 0;   // in opening order (never reused)
  uint32_t uid = 0;  // the caller the policy decided for (an app view's uid)
  uint32_t gid = 0;
  uint32_t pid = 0;  // the process that opened it
  std::string app;   // the policy's app then; empty if none
  uint64_t node_id = 0;
  v1::Operation op = v1::READ;  // READ, WRITE (any writable open) or CREATE
  std::string view_profile;     // a redacted view's profile
  int64_t opened_unix_nanos = 0;
  bool direct_io = false;
};

struct FileHandle {
  int fd = -1;
  HandleOwner owner;
  // The generation whose engine last confirmed the access (revocation is
  // checked lazily, on the first daemon-served read or write after a
  // change), and whether a change removed it: every read and write then
  // answers EACCES.
  std::atomic<uint64_t> checked_generation{0};
  std::atomic<bool> revoked{false};
  // Its I/O reaches the daemon, so a policy change can refuse it.
  bool revocable() const { return mode == OpenMode::kDaemon; }
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
  // Calls `fn(const FileHandle&)` for every handle, under the table's lock
  // (a handle is not released meanwhile; `fn` must not open or release).
  template <typename Fn>
  void ForEach(Fn fn) const {
    absl::MutexLock lock(&mu_);
    for (const FileHandle* h : handles_) fn(*h);
  }
  // Gives back the handle `fh` (RELEASE, or an open the kernel refused).
  std::unique_ptr<FileHandle> Take(uint64_t fh) {
    FileHandle* raw = &HandleAt(fh);
    absl::MutexLock lock(&mu_);
    handles_.erase(raw);
    return std::unique_ptr<FileHandle>(raw);
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_set<FileHandle*> handles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_OPEN_HANDLES_H_
