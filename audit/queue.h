// A bounded multi-producer queue that never blocks a producer: FUSE threads
// push audit events, the writer thread pops them. A full queue refuses the
// push (the caller counts the drop) instead of making a FUSE reply wait.
//
// The classic bounded MPMC ring (sequence number per slot): a push or pop is
// one compare-and-swap on the shared index plus a release store on the slot;
// no locks, no system calls.
#ifndef SCOPEDFS_AUDIT_QUEUE_H_
#define SCOPEDFS_AUDIT_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace scopedfs::audit {

template <typename T>
class BoundedQueue {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit BoundedQueue(size_t capacity);
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Moves `value` in and returns true, or returns false (value untouched)
  // when the queue is full. Thread-safe, lock-free.
  bool TryPush(T&& value);
  // Moves the oldest value out and returns true, or returns false when the
  // queue is empty. Thread-safe, lock-free.
  bool TryPop(T* out);

  size_t capacity() const { return mask_ + 1; }
  // Approximate (racy) number of queued values.
  size_t SizeApprox() const;

 private:
  struct Slot {
    std::atomic<uint64_t> sequence;
    T value;
  };
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};  // next pop
  alignas(64) std::atomic<uint64_t> tail_{0};  // next push
};

// Implementation below (template).
//
// Each slot carries a sequence number. For position `pos` (a free-running
// 64-bit counter), slot pos & mask_ is free for the push of `pos` when its
// sequence equals pos, and holds the value of `pos` for the pop when its
// sequence equals pos + 1. A pop hands the slot to the push one lap later by
// storing pos + capacity. Wrap-around of the 64-bit counters is not a concern.

namespace queue_internal {
inline size_t RoundUpPow2(size_t n) {
  size_t c = 2;
  while (c < n) c <<= 1;
  return c;
}
}  // namespace queue_internal

template <typename T>
BoundedQueue<T>::BoundedQueue(size_t capacity)
    : mask_(queue_internal::RoundUpPow2(capacity) - 1),
      slots_(new Slot[mask_ + 1]) {
  for (size_t i = 0; i <= mask_; ++i) {
    slots_[i].sequence.store(i, std::memory_order_relaxed);
  }
}

template <typename T>
bool BoundedQueue<T>::TryPush(T&& value) {
  uint64_t pos = tail_.load(std::memory_order_relaxed);
  for (;;) {
    Slot& slot = slots_[pos & mask_];
    const uint64_t seq = slot.sequence.load(std::memory_order_acquire);
    const int64_t diff = static_cast<int64_t>(seq - pos);
    if (diff == 0) {
      // The slot is free for this position: claim the position.
      if (tail_.compare_exchange_weak(pos, pos + 1,
                                      std::memory_order_relaxed)) {
        slot.value = std::move(value);
        slot.sequence.store(pos + 1, std::memory_order_release);
        return true;
      }
      // `pos` was reloaded by the failed CAS; retry.
    } else if (diff < 0) {
      // The slot still holds the value of the previous lap: full.
      return false;
    } else {
      // Another producer took this position; catch up.
      pos = tail_.load(std::memory_order_relaxed);
    }
  }
}

template <typename T>
bool BoundedQueue<T>::TryPop(T* out) {
  uint64_t pos = head_.load(std::memory_order_relaxed);
  for (;;) {
    Slot& slot = slots_[pos & mask_];
    const uint64_t seq = slot.sequence.load(std::memory_order_acquire);
    const int64_t diff = static_cast<int64_t>(seq - (pos + 1));
    if (diff == 0) {
      if (head_.compare_exchange_weak(pos, pos + 1,
                                      std::memory_order_relaxed)) {
        *out = std::move(slot.value);
        slot.value = T();  // release what the moved-from value still holds
        slot.sequence.store(pos + mask_ + 1, std::memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      // Not yet written for this lap: empty.
      return false;
    } else {
      pos = head_.load(std::memory_order_relaxed);
    }
  }
}

template <typename T>
size_t BoundedQueue<T>::SizeApprox() const {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  const uint64_t head = head_.load(std::memory_order_relaxed);
  return tail > head ? static_cast<size_t>(tail - head) : 0;
}

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_QUEUE_H_
