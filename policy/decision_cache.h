// A bounded, sharded cache of verdicts for the daemon's hot path.
//
// Key: (uid, gid, node id, operation, generation). Everything else a verdict
// depends on must be fixed for a (node id, generation) pair, or the daemon
// must Clear() when it changes: the node's path (renames!), is_dir, head, and
// the caller's ownership of the node (owner store updates).
//
// Generations and lifetime: a Verdict points into the Engine that made it.
// Get() only returns an entry stored under exactly key.generation, so a
// caller that holds the engine it took key.generation from (the daemon does:
// it decides with that engine on a miss) always gets pointers into a live
// engine. Each shard keeps one generation: storing a newer one empties the
// shard (entries of the old engine go, so nothing is kept that points into
// it for long; they were unreachable anyway), storing an older one (a
// decision that raced with a policy swap) is ignored. Requirements: a
// generation identifies one engine, and generations only grow (the daemon's
// compare-and-set makes both true); call Clear() if they ever go back.
//
// Memory: at most `capacity` entries (rounded up to a multiple of the shard
// count); a full shard is emptied wholesale before the next insert.
#ifndef SCOPEDFS_POLICY_DECISION_CACHE_H_
#define SCOPEDFS_POLICY_DECISION_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "policy/engine.h"

namespace scopedfs::policy {

class DecisionCache {
 public:
  struct Key {
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint64_t node_id = 0;
    int32_t op = 0;  // v1::Operation
    uint64_t generation = 0;

    bool operator==(const Key& o) const {
      return uid == o.uid && gid == o.gid && node_id == o.node_id && op == o.op &&
             generation == o.generation;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.uid, k.gid, k.node_id, k.op, k.generation);
    }
  };

  static constexpr size_t kShards = 16;

  explicit DecisionCache(size_t capacity = size_t{1} << 16);
  DecisionCache(const DecisionCache&) = delete;
  DecisionCache& operator=(const DecisionCache&) = delete;

  // The verdict stored for `key`, if any. Thread-safe.
  std::optional<Verdict> Get(const Key& key) const;

  // Stores `verdict` (made by the engine of key.generation) for `key`.
  // Thread-safe.
  void Put(const Key& key, const Verdict& verdict);

  // Drops all entries and forgets the generations.
  void Clear();

  size_t size() const;
  size_t capacity() const { return shard_capacity_ * kShards; }
  // Counters since construction, summed over the shards.
  uint64_t hits() const;
  uint64_t misses() const;
  uint64_t evictions() const;  // shards emptied because they were full

 private:
  struct alignas(64) Shard {
    mutable absl::Mutex mu;
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
    absl::flat_hash_map<Key, Verdict> map ABSL_GUARDED_BY(mu);
    // Per shard, under `mu`: no shared counter cache line on the hot path.
    mutable uint64_t hits ABSL_GUARDED_BY(mu) = 0;
    mutable uint64_t misses ABSL_GUARDED_BY(mu) = 0;
    uint64_t evictions ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardFor(const Key& key) const;
  template <typename F>
  uint64_t Sum(F field) const;

  const size_t shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
};

using DecisionKey = DecisionCache::Key;

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_DECISION_CACHE_H_
