#include "policy/decision_cache.h"

#include "absl/hash/hash.h"

namespace scopedfs::policy {

DecisionCache::DecisionCache(size_t capacity)
    : shard_capacity_(capacity == 0 ? 1 : (capacity + kShards - 1) / kShards) {}

DecisionCache::Shard& DecisionCache::ShardFor(const Key& key) const {
  // High bits for the shard: the map itself uses the low ones. Not the
  // generation: a request keeps its shard across policy swaps, so the first
  // put of a newer generation empties the shard that held the older entries
  // (with the generation hashed, a shard could keep dead entries forever).
  const size_t h = absl::HashOf(key.uid, key.gid, key.node_id, key.op);
  return shards_[(h >> 56) % kShards];
}

std::optional<Verdict> DecisionCache::Get(const Key& key) const {
  Shard& s = ShardFor(key);
  absl::MutexLock lock(&s.mu);
  if (s.generation == key.generation) {
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      ++s.hits;
      return it->second;
    }
  }
  ++s.misses;
  return std::nullopt;
}

void DecisionCache::Put(const Key& key, const Verdict& verdict) {
  Shard& s = ShardFor(key);
  absl::MutexLock lock(&s.mu);
  if (key.generation < s.generation) return;  // raced with a newer policy
  if (key.generation > s.generation) {
    s.map.clear();  // the old engine's verdicts: unreachable from now on
    s.generation = key.generation;
  } else if (s.map.size() >= shard_capacity_ && !s.map.contains(key)) {
    s.map.clear();  // wholesale: cheap, and the hot entries come back fast
    ++s.evictions;
  }
  s.map.insert_or_assign(key, verdict);
}

void DecisionCache::Clear() {
  for (Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    s.map.clear();
    s.generation = 0;
  }
}

size_t DecisionCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    n += s.map.size();
  }
  return n;
}

template <typename F>
uint64_t DecisionCache::Sum(F field) const {
  uint64_t n = 0;
  for (const Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    n += field(s);
  }
  return n;
}

uint64_t DecisionCache::hits() const {
  return Sum([](const Shard& s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s.hits; });
}
uint64_t DecisionCache::misses() const {
  return Sum([](const Shard& s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s.misses; });
}
uint64_t DecisionCache::evictions() const {
  return Sum([](const Shard& s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s.evictions; });
}

}  // namespace scopedfs::policy
