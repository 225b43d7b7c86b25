// BoundedQueue: FIFO, full/empty, and many producers against one consumer.
#include "audit/queue.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace scopedfs::audit {
namespace {

TEST(BoundedQueueTest, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(BoundedQueue<int>(0).capacity(), 2u);
  EXPECT_EQ(BoundedQueue<int>(1).capacity(), 2u);
  EXPECT_EQ(BoundedQueue<int>(2).capacity(), 2u);
  EXPECT_EQ(BoundedQueue<int>(3).capacity(), 4u);
  EXPECT_EQ(BoundedQueue<int>(1000).capacity(), 1024u);
}

TEST(BoundedQueueTest, SingleThreadFifoFullAndEmpty) {
  BoundedQueue<std::string> q(4);
  std::string out;
  EXPECT_FALSE(q.TryPop(&out));
  for (int lap = 0; lap < 3; ++lap) {  // wraps around the ring
    for (int i = 0; i < 4; ++i) {
      std::string v = "v" + std::to_string(i);
      ASSERT_TRUE(q.TryPush(std::move(v)));
    }
    EXPECT_EQ(q.SizeApprox(), 4u);
    std::string extra = "extra";
    EXPECT_FALSE(q.TryPush(std::move(extra)));
    EXPECT_EQ(extra, "extra");  // untouched when refused
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(q.TryPop(&out));
      EXPECT_EQ(out, "v" + std::to_string(i));
    }
    EXPECT_FALSE(q.TryPop(&out));
    EXPECT_EQ(q.SizeApprox(), 0u);
  }
  // Interleaved.
  for (int i = 0; i < 100; ++i) {
    std::string a = std::to_string(i);
    ASSERT_TRUE(q.TryPush(std::move(a)));
    std::string b = std::to_string(i) + "b";
    ASSERT_TRUE(q.TryPush(std::move(b)));
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, std::to_string(i));
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, std::to_string(i) + "b");
  }
}

TEST(BoundedQueueTest, MoveOnlyValues) {
  BoundedQueue<std::unique_ptr<int>> q(2);
  ASSERT_TRUE(q.TryPush(std::make_unique<int>(7)));
  std::unique_ptr<int> out;
  ASSERT_TRUE(q.TryPop(&out));
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, 7);
}

TEST(BoundedQueueTest, FourProducersOneConsumerEveryItemOnceInOrder) {
  constexpr int kProducers = 4;
  constexpr uint64_t kItems = 100000;
  BoundedQueue<uint64_t> q(1024);
  std::atomic<bool> go{false};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      while (!go.load()) {
      }
      for (uint64_t i = 0; i < kItems; ++i) {
        uint64_t v = (uint64_t{static_cast<uint64_t>(p)} << 32) | i;
        while (!q.TryPush(std::move(v))) std::this_thread::yield();
      }
    });
  }
  std::vector<uint64_t> next(kProducers, 0);
  uint64_t received = 0;
  bool ok = true;
  go.store(true);
  while (received < kProducers * kItems) {
    uint64_t v;
    if (!q.TryPop(&v)) {
      std::this_thread::yield();
      continue;
    }
    const uint64_t p = v >> 32;
    const uint64_t i = v & 0xffffffffu;
    if (p >= kProducers || i != next[p]) {
      ok = false;
      ADD_FAILURE() << "producer " << p << " item " << i << " expected "
                    << (p < kProducers ? next[p] : 0);
      break;
    }
    ++next[p];
    ++received;
  }
  for (auto& t : producers) t.join();
  ASSERT_TRUE(ok);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kItems);
  uint64_t v;
  EXPECT_FALSE(q.TryPop(&v));
}

TEST(BoundedQueueTest, TwoProducersTwoConsumers) {
  constexpr uint64_t kItems = 50000;
  BoundedQueue<uint64_t> q(8);
  std::atomic<uint64_t> sum{0}, count{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&] {
      for (uint64_t i = 1; i <= kItems; ++i) {
        uint64_t v = i;
        while (!q.TryPush(std::move(v))) std::this_thread::yield();
      }
    });
  }
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&] {
      while (count.load() < 2 * kItems) {
        uint64_t v;
        if (q.TryPop(&v)) {
          sum.fetch_add(v);
          count.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(count.load(), 2 * kItems);
  EXPECT_EQ(sum.load(), 2 * (kItems * (kItems + 1) / 2));
}

}  // namespace
}  // namespace scopedfs::audit
