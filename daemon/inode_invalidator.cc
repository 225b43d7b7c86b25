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

void InodeInvalidator::InvalidateEntry(uint64_t parent, std::string name) {
  absl::MutexLock lock(&mu_);
  pending_entries_.emplace(parent, std::move(name));
}

void InodeInvalidator::Loop() {
  for (;;) {
    absl::flat_hash_set<uint64_t> batch;
    absl::flat_hash_set<std::pair<uint64_t, std::string>> entries;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](InodeInvalidator* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stop_ || !self->pending_.empty() ||
                   !self->pending_entries_.empty();
          },
          this));
      if (pending_.empty() && pending_entries_.empty()) return;  // Stopping.
      batch.swap(pending_);
      entries.swap(pending_entries_);
    }
    Stats::Add(stats_->inode_invalidations, batch.size());
    // ENOENT: the kernel forgot the node (or entry) meanwhile; nothing to
    // drop. An entry's directory then drops its listing and attributes, with
    // the nodes queued (once, if it is one of them).
    for (const auto& [parent, name] : entries) {
      fuse_lowlevel_notify_inval_entry(se_, parent, name.c_str(), name.size());
      batch.insert(parent);
    }
    for (uint64_t id : batch) fuse_lowlevel_notify_inval_inode(se_, id, 0, 0);
    Stats::Add(stats_->cross_tree_invalidations, entries.size());
  }
}

}  // namespace scopedfs
