// Small helpers shared by the long-running tests (fault, stress, random ops):
// knobs from the environment and a seeded, reproducible generator.
#ifndef SCOPEDFS_TESTS_TEST_UTIL_H_
#define SCOPEDFS_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"

namespace scopedfs::testing {

// The unsigned integer in environment variable `name`, else `dflt`.
inline uint64_t EnvOr(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  uint64_t n;
  return v != nullptr && absl::SimpleAtoi(v, &n) ? n : dflt;
}

// xorshift64: fast, and the same sequence for the same seed everywhere (the
// tests print their seed so a failure can be replayed). Seed must be != 0.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(Next() >> 24);
    return out;
  }
};

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_TEST_UTIL_H_
