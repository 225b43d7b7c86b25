// One open descriptor of a redacted view: the real file's bytes with a plan's
// ranges zeroed, where the plan always belongs to the version of the file
// the bytes come from.
//
// The owner may rewrite the file while a redacted reader holds it open (in
// place, and through passthrough the daemon never sees the writes): ranges
// computed at open would then zero the wrong bytes. So every read checks the
// file's version (size, mtime, ctime) before and after it reads, re-plans
// when it changed, and retries when it changed during the read. A write
// updates mtime before it changes any byte, and the kernel's multigrain
// timestamps make the new mtime differ from one we have seen, so a read
// whose two checks agree read one version. What remains: a writer through a
// shared mapping changes bytes of pages already dirty without a new mtime;
// such a write cannot move the metadata the plan knows about (the structure
// that places it is in the same pages only if the writer rewrites it too).
#ifndef SCOPEDFS_DAEMON_REDACTED_VIEW_H_
#define SCOPEDFS_DAEMON_REDACTED_VIEW_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/redaction_cache.h"
#include "daemon/stats.h"
#include "redact/redact.h"

namespace scopedfs {

class RedactedView {
 public:
  RedactedView(RedactionCache* cache, Stats* stats, redact::Profile profile,
               const struct stat& st, std::shared_ptr<const RedactionPlan> plan)
      : cache_(cache), stats_(stats), profile_(profile), st_(st),
        plan_(std::move(plan)) {}

  // Reads up to `size` bytes at `off` of `fd` (the view's own descriptor of
  // the real file) into `buf`, zeroed by the plan of the version read.
  // Returns the byte count, or -errno: EIO when the file can no longer be
  // planned (it became unparseable) or never held still.
  ssize_t Read(int fd, char* buf, size_t size, off_t off);

 private:
  // The plan for the file as `st` shows it, re-planned if it changed.
  std::shared_ptr<const RedactionPlan> PlanOf(int fd, const struct stat& st);

  RedactionCache* const cache_;
  Stats* const stats_;
  const redact::Profile profile_;
  absl::Mutex mu_;
  struct stat st_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const RedactionPlan> plan_ ABSL_GUARDED_BY(mu_);
};

// Whether two statuses of one file show the same version.
bool SameVersion(const struct stat& a, const struct stat& b);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_REDACTED_VIEW_H_
