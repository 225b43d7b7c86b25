// DecisionCache: hits, generations, bounds, and concurrent use.
#include "policy/decision_cache.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "policy/engine.h"
#include "policy/policy_text.h"

namespace scopedfs::policy {
namespace {

std::shared_ptr<const Engine> Compile(uint64_t generation) {
  auto p = ParsePolicyText(R"pb(default_action: DENY
                               apps { name: "a" uids: 1001 }
                               rules { id: "r" apps: "a" action: ALLOW })pb");
  EXPECT_TRUE(p.ok()) << p.status();
  auto e = Engine::Compile(*p, generation);
  EXPECT_TRUE(e.ok()) << e.status();
  return *e;
}

DecisionCache::Key K(uint64_t node, uint64_t generation, uint32_t uid = 1001,
                     v1::Operation op = v1::READ) {
  return DecisionCache::Key{uid, uid, node, static_cast<int>(op), generation};
}

TEST(DecisionCacheTest, PutGetMiss) {
  auto e = Compile(1);
  DecisionCache cache;
  Request req;
  req.uid = 1001;
  req.path = "x";
  const Verdict v = e->Decide(req);
  EXPECT_FALSE(cache.Get(K(7, 1)).has_value());
  cache.Put(K(7, 1), v);
  auto got = cache.Get(K(7, 1));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->action, v1::ALLOW);
  EXPECT_EQ(got->rule_index, 0);
  EXPECT_EQ(got->rule_id, v.rule_id);
  EXPECT_EQ(*got->app, "a");
  // Every key field counts.
  EXPECT_FALSE(cache.Get(K(8, 1)).has_value());
  EXPECT_FALSE(cache.Get(K(7, 1, 1002)).has_value());
  EXPECT_FALSE(cache.Get(K(7, 1, 1001, v1::WRITE)).has_value());
  DecisionCache::Key other_gid = K(7, 1);
  other_gid.gid = 5;
  EXPECT_FALSE(cache.Get(other_gid).has_value());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 5u);
  EXPECT_EQ(cache.size(), 1u);
  cache.Clear();
  EXPECT_FALSE(cache.Get(K(7, 1)).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(DecisionCacheTest, GenerationsAreMissesAndOldOnesGo) {
  DecisionCache cache;
  Verdict allow;
  allow.action = v1::ALLOW;
  Verdict deny;
  deny.action = v1::DENY;
  for (uint64_t node = 0; node < 100; ++node) cache.Put(K(node, 1), allow);
  EXPECT_EQ(cache.size(), 100u);
  EXPECT_FALSE(cache.Get(K(5, 2)).has_value());  // a new generation: miss
  for (uint64_t node = 0; node < 100; ++node) cache.Put(K(node, 2), deny);
  // Generation 1 entries are gone (each shard emptied on its first gen-2 put).
  EXPECT_EQ(cache.size(), 100u);
  EXPECT_FALSE(cache.Get(K(5, 1)).has_value());
  EXPECT_EQ(cache.Get(K(5, 2))->action, v1::DENY);
  // A late put of an older generation (a decision that raced with a policy
  // swap) is dropped.
  cache.Put(K(1000, 1), allow);
  EXPECT_FALSE(cache.Get(K(1000, 1)).has_value());
  EXPECT_EQ(cache.size(), 100u);
  // Clear() forgets generations: going back works after it.
  cache.Clear();
  cache.Put(K(1, 1), allow);
  EXPECT_TRUE(cache.Get(K(1, 1)).has_value());
}

TEST(DecisionCacheTest, Bounded) {
  DecisionCache cache(160);  // 10 per shard
  EXPECT_EQ(cache.capacity(), 160u);
  Verdict v;
  for (uint64_t node = 0; node < 100000; ++node) {
    cache.Put(K(node, 1), v);
    ASSERT_LE(cache.size(), 160u);
  }
  EXPECT_GT(cache.evictions(), 0u);
  // The most recent entry is always there.
  EXPECT_TRUE(cache.Get(K(99999, 1)).has_value());
}

TEST(DecisionCacheTest, ConcurrentUseWithPolicySwaps) {
  DecisionCache cache(1024);
  std::vector<std::shared_ptr<const Engine>> engines;
  for (uint64_t g = 1; g <= 20; ++g) engines.push_back(Compile(g));
  std::atomic<size_t> current{0};
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      uint64_t n = 0;
      while (!stop.load()) {
        auto engine = engines[current.load()];
        const DecisionCache::Key key = K(n++ % 500, engine->generation(), 1001 + t % 2);
        if (auto v = cache.Get(key)) {
          // Cached verdicts of this generation point into this engine.
          if (v->rule_id != nullptr && v->rule_id != &engine->policy().rules(0).id()) ++bad;
          if (v->action != (t % 2 ? v1::DENY : v1::ALLOW)) ++bad;
        } else {
          Request req;
          req.uid = key.uid;
          req.path = "f";
          req.op = v1::READ;
          cache.Put(key, engine->Decide(req));
        }
      }
    });
  }
  for (size_t i = 1; i < engines.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    current.store(i);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace scopedfs::policy
