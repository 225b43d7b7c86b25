// Redacted views the kernel serves at native speed: a reflinked copy.
//
// Where the backing file system can reflink (xfs, btrfs), a redacted view is
// a file of its own: an unnamed O_TMPFILE that shares the real file's blocks
// (FICLONE), with the plan's ranges then overwritten by zeros, which copies
// only those blocks. The view's node then opens with FOPEN_PASSTHROUGH over
// that copy (read-only), so reads, readahead and mmap never reach the daemon
// and never touch the real file; an O_DIRECT open gets FOPEN_DIRECT_IO over
// the same copy and the daemon reads the copy. Where the file system cannot
// reflink, the daemon serves the view itself (daemon/redacted_view.h).
//
// The plan is made on the copy's own bytes (or is the one the open already
// made for exactly the version cloned), so a plan and the bytes it zeroes
// always belong together, whatever the owner writes meanwhile: FICLONE
// takes both files' locks and flushes the source's dirty pages first.
//
// Versions: a copy is the file as it was when cloned. An open keeps its copy
// (a snapshot at open time); a later open after the file changed needs a new
// copy, and the kernel allows one backing file per inode while any is open:
// the open then gets ESTALE, the view's node is retired, and the kernel's
// retry looks the name up again into a fresh node (daemon/fuse/file_ops.cc).
//
// Bounds: at most `max_copies` copies exist at once (held by opens or kept
// for the next open of the same version); beyond that the daemon serves the
// view. One copy per file and profile is kept; a newer version replaces it.
#ifndef SCOPEDFS_DAEMON_REFLINKED_VIEWS_H_
#define SCOPEDFS_DAEMON_REFLINKED_VIEWS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/redacted_view.h"
#include "daemon/stats.h"

namespace scopedfs {

// One copy: the redacted bytes of one version of a file, for one profile.
class ViewCopy {
 public:
  // `version`: the real file's status when it was cloned, with the copy's
  // size; `exact`: no write happened during the clone, so the copy is that
  // version. `live` counts the copies that exist (shared: a copy may
  // outlive the ReflinkedViews that made it, held by a node at shutdown).
  ViewCopy(int fd, const struct stat& version, bool exact, int profile_bits,
           std::shared_ptr<std::atomic<int64_t>> live);
  ~ViewCopy();
  ViewCopy(const ViewCopy&) = delete;
  ViewCopy& operator=(const ViewCopy&) = delete;

  // Read-only descriptor of the unnamed copy: the passthrough backing file,
  // and what the daemon reads for O_DIRECT opens and copy_file_range.
  int fd() const { return fd_; }
  // The real file's version the copy holds: what the view's node reports
  // (size, times) while its opens read this copy.
  const struct stat& version() const { return version_; }
  // Whether it is exactly the version `st` shows.
  bool IsVersion(const struct stat& st) const;
  // Whether it is the view of `st`'s version under `profile`.
  bool Matches(const struct stat& st, const redact::Profile& profile) const;

 private:
  const int fd_;
  const struct stat version_;
  const bool exact_;
  const int profile_bits_;
  const std::shared_ptr<std::atomic<int64_t>> live_;
};

class ReflinkedViews {
 public:
  // `dir_fd`: a directory (O_PATH is enough) on the backing file system, in
  // which the unnamed copies are made; not owned. `max_copies` 0 turns
  // copies off.
  ReflinkedViews(int dir_fd, size_t max_copies, Stats* stats);
  ReflinkedViews(const ReflinkedViews&) = delete;
  ReflinkedViews& operator=(const ReflinkedViews&) = delete;

  // The copy of the file `fd` (the view's read-only descriptor of the real
  // file) as it is now, under `view`'s profile: kept, or made now.
  //   Unavailable: no copy here (the file system cannot reflink, copies are
  //     off or all `max_copies` are in use): the daemon serves the view.
  //   other errors: the copy's bytes could not be vouched for (its plan
  //     failed, a write failed): the open must be refused.
  absl::StatusOr<std::shared_ptr<const ViewCopy>> CopyOf(
      int fd, const RedactedView& view);

  // The file (dev, ino) changed through the mount: its kept copies will
  // never be asked for again; dropping them now frees the old blocks they
  // pin (open files keep theirs).
  void FileChanged(dev_t dev, ino_t ino);

  // Copies existing now (held by opens or kept).
  int64_t live() const { return live_->load(std::memory_order_relaxed); }

 private:
  using FileId = std::pair<dev_t, ino_t>;
  // Per file: its latest copy under each profile (by ProfileBits).
  using Kept = absl::flat_hash_map<int, std::shared_ptr<const ViewCopy>>;
  absl::StatusOr<std::shared_ptr<const ViewCopy>> Make(
      int fd, const struct stat& before, const RedactedView& view);
  // Drops kept copies no open holds while `max_copies_` or more exist;
  // false if all are held.
  bool MakeRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int dir_fd_;
  const size_t max_copies_;
  Stats* const stats_;
  const std::shared_ptr<std::atomic<int64_t>> live_ =
      std::make_shared<std::atomic<int64_t>>(0);
  absl::Mutex mu_;
  // Copies being made now (counted against the bound before they exist).
  int64_t making_ ABSL_GUARDED_BY(mu_) = 0;
  // The latest copy of each file and profile.
  absl::flat_hash_map<FileId, Kept> kept_ ABSL_GUARDED_BY(mu_);
  // File systems (st_dev) that answered FICLONE with "not supported".
  absl::flat_hash_set<dev_t> cannot_reflink_ ABSL_GUARDED_BY(mu_);
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_REFLINKED_VIEWS_H_
