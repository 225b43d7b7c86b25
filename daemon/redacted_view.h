// One open descriptor of a redacted view: the real file's bytes with a plan's
// ranges zeroed, where the plan always belongs to the very version of the
// file the bytes come from.
//
// The owner may rewrite the file while a redacted reader holds it open (in
// place, and through passthrough the daemon never sees the writes): ranges
// planned for another version would zero the wrong bytes, and bytes read in
// the middle of a rewrite mix two versions in a way no plan describes (the
// old metadata can sit where the new file has image data). So every read
// (and the plan at open) runs this protocol:
//   1. fstat: the version (size, mtime, ctime) before;
//   2. if the file has a writer open through the mount (OpenWriters), a
//      barrier: a one-block O_DIRECT read, which takes the inode's I/O lock
//      shared on ext4, xfs and btrfs and so waits for any buffered write in
//      progress to finish;
//   3. the plan for that version (remembered, or made now), and the read;
//   4. fstat: the version after. The same version means no write started
//      since step 1: a write updates mtime before it changes a byte, and
//      the kernel's multigrain timestamps give a write after a stat a new
//      one. Otherwise the attempt is thrown away and made again.
// A file its writer keeps rewriting may never hold still through a window;
// after a few attempts, while a writer is open, the read is served from a
// snapshot: the whole file in one O_DIRECT read (which the same lock keeps
// whole), planned and zeroed in memory (files up to kMaxSnapshot; larger
// ones, or file systems without O_DIRECT, answer EIO).
// What remains: a writer through a shared writable mapping changes bytes of
// pages already dirty without a new mtime or any lock; on a file system
// without multigrain timestamps two writes in one clock tick may share an
// mtime. Both need the owner to rewrite the file's structure in place while
// the reader reads.
#ifndef SCOPEDFS_DAEMON_REDACTED_VIEW_H_
#define SCOPEDFS_DAEMON_REDACTED_VIEW_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "daemon/open_writers.h"
#include "daemon/redaction_cache.h"
#include "daemon/stats.h"
#include "redact/redact.h"

namespace scopedfs {

class RedactedView {
 public:
  RedactedView(RedactionCache* cache, const OpenWriters* writers, Stats* stats,
               redact::Profile profile)
      : cache_(cache), writers_(writers), stats_(stats), profile_(profile) {}
  ~RedactedView();
  RedactedView(const RedactedView&) = delete;
  RedactedView& operator=(const RedactedView&) = delete;

  // Plans the view of `fd` (its own read-only descriptor of the real file)
  // as the file is now, by the protocol above. An error means no redactor
  // can vouch for it: the open must be refused.
  absl::Status Prepare(int fd);
  // The plan Prepare (or the latest read) used.
  std::shared_ptr<const RedactionPlan> plan() const;
  // That plan if it was made for the version `st` shows, else null.
  std::shared_ptr<const RedactionPlan> PlanOfVersion(const struct stat& st) const;
  const redact::Profile& profile() const { return profile_; }

  // Reads up to `size` bytes at `off` of `fd` into `buf`, zeroed by the plan
  // of the version read. Returns the byte count, or -errno: EIO when the
  // file can no longer be planned (it became unparseable) or never held
  // still.
  ssize_t Read(int fd, char* buf, size_t size, off_t off);

 private:
  // Steps 1-2 of the protocol; fills `before`.
  int Begin(int fd, struct stat* before);
  // The plan for the version `st` shows: this view's, remembered, or new
  // (`*fresh`: made now, to be remembered once the version held).
  absl::StatusOr<std::shared_ptr<const RedactionPlan>> PlanOf(
      int fd, const struct stat& st, bool* fresh);
  // After a read at `st` that held still: keep its plan.
  void Keep(const struct stat& st, std::shared_ptr<const RedactionPlan> plan,
            bool fresh);
  // Waits for a buffered write in progress on `fd`'s file (step 2).
  void Barrier(int fd);
  // The O_DIRECT descriptor of `fd`'s file, opened on first use; -1 if the
  // file system refuses O_DIRECT.
  int DirectFd(int fd);
  // A consistent snapshot of the whole file (above) and its plan; false
  // when none can be taken (too large, no O_DIRECT, a read error).
  struct Snapshot {
    std::unique_ptr<char, void (*)(void*)> bytes{nullptr, nullptr};
    size_t size = 0;
    absl::StatusOr<std::shared_ptr<const RedactionPlan>> plan;
  };
  bool TakeSnapshot(int fd, Snapshot* out);
  // A read served from such a snapshot; -EAGAIN when none can be taken.
  ssize_t SnapshotRead(int fd, char* buf, size_t size, off_t off);

  RedactionCache* const cache_;
  const OpenWriters* const writers_;
  Stats* const stats_;
  const redact::Profile profile_;
  mutable absl::Mutex mu_;
  struct stat st_ ABSL_GUARDED_BY(mu_) = {};
  std::shared_ptr<const RedactionPlan> plan_ ABSL_GUARDED_BY(mu_);
  int direct_fd_ ABSL_GUARDED_BY(mu_) = -1;  // For the barrier; lazily.
  bool direct_failed_ ABSL_GUARDED_BY(mu_) = false;
};

// Whether two statuses of one file show the same version.
bool SameVersion(const struct stat& a, const struct stat& b);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_REDACTED_VIEW_H_
