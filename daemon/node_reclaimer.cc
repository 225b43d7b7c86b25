#include "daemon/node_reclaimer.h"

#include <fuse_lowlevel.h>

#include <algorithm>
#include <vector>

#include "absl/time/time.h"
#include "daemon/log.h"

namespace scopedfs {
namespace {

// After a pass the kernel needs a moment to evict and send FORGETs; entries
// picked again before that would only be dropped twice.
constexpr absl::Duration kSettle = absl::Milliseconds(10);
// When a pass freed few nodes (their files are held open, or their names
// changed behind our back), the next waits longer, up to this.
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);

}  // namespace

NodeReclaimer::NodeReclaimer(NodeTable* nodes, Stats* stats, fuse_session* se,
                             size_t max_nodes)
    : nodes_(nodes),
      stats_(stats),
      se_(se),
      max_nodes_(std::max<size_t>(max_nodes, 1)),
      target_nodes_(max_nodes_ - max_nodes_ / 4) {
  nodes_->SetGrowthListener(max_nodes_, [this] { Wake(); });
  thread_ = std::thread([this] { Loop(); });
}

NodeReclaimer::~NodeReclaimer() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
  nodes_->SetGrowthListener(0, nullptr);
}

void NodeReclaimer::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void NodeReclaimer::Loop() {
  absl::Duration backoff = kSettle;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      // Also look now and then without being woken: the table may still be
      // above the limit after a pass whose FORGETs arrived late.
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](NodeReclaimer* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                    r->mu_) { return r->wake_ || r->stop_; },
                               this),
                           absl::Seconds(1));
      if (stop_) return;
      wake_ = false;
    }
    if (nodes_->size() <= max_nodes_) continue;
    const uint64_t forgets_before = stats_->forgets.load();
    const size_t asked = ReclaimOnce();
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), backoff);
      if (stop_) return;
    }
    // A client still scanning keeps the table growing, which is no reason
    // to slow down; a pass whose entries the kernel did not forget (or that
    // found none to ask for) is.
    const uint64_t forgotten = stats_->forgets.load() - forgets_before;
    if (asked == 0 || forgotten * 2 < asked) {
      backoff = std::min(backoff * 2, kMaxBackoff);
      SFS_LOG_EVERY_SEC(kWarning,
                        "node table holds %d nodes (limit %d, see "
                        "--max_nodes); the kernel forgot %d of the %d "
                        "entries it was asked to drop (directories and "
                        "files held open keep theirs)",
                        nodes_->size(), max_nodes_, forgotten, asked);
    } else {
      backoff = kSettle;
    }
  }
}

size_t NodeReclaimer::ReclaimOnce() {
  const size_t size = nodes_->size();
  if (size <= target_nodes_) return 0;
  const std::vector<NodeTable::Entry> coldest =
      nodes_->Coldest(size - target_nodes_);
  for (const NodeTable::Entry& e : coldest) {
    // ENOENT only means the kernel no longer has that entry.
    fuse_lowlevel_notify_inval_entry(se_, e.parent_id, e.name.c_str(),
                                     e.name.size());
  }
  Stats::Add(stats_->node_reclaim_requests, coldest.size());
  SFS_LOG(kDebug, "node table at %d of %d nodes: asked the kernel to drop %d entries",
          size, max_nodes_, coldest.size());
  return coldest.size();
}

}  // namespace scopedfs
