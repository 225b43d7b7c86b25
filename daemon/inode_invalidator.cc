#include "daemon/inode_invalidator.h"

#include <fuse_lowlevel.h>

#include <utility>

namespace scopedfs {

InodeInvalidator::InodeInvalidator(fuse_session* se, Stats* stats)
    : se_(se), stats_(stats) {
  thread_ = std::thread([this] { Loop(); });
}

InodeInvalidator::~InodeInvalidator() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void InodeInvalidator::Invalidate(uint64_t id) {
  absl::MutexLock lock(&mu_);
  pending_.insert(id);
}

void InodeInvalidator::Loop() {
  for (;;) {
    absl::flat_hash_set<uint64_t> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](InodeInvalidator* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stop_ || !self->pending_.empty();
          },
          this));
      if (pending_.empty()) return;  // Stopping, nothing left.
      batch.swap(pending_);
    }
    for (uint64_t id : batch) {
      // ENOENT: the kernel forgot the node meanwhile; nothing to drop.
      fuse_lowlevel_notify_inval_inode(se_, id, 0, 0);
    }
    Stats::Add(stats_->inode_invalidations, batch.size());
  }
}

}  // namespace scopedfs
