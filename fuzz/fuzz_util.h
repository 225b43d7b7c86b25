// Helpers shared by the fuzz targets (header-only, no libFuzzer dependency:
// the targets also build as plain corpus replayers, see replay_main.cc).
#ifndef SCOPEDFS_FUZZ_FUZZ_UTIL_H_
#define SCOPEDFS_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>

// A broken invariant: print it and abort, so libFuzzer (or the replayer)
// reports the input as a crash. Unlike assert(), also active with NDEBUG.
#define FUZZ_CHECK(cond, ...)                                          \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", __FILE__, \
                   __LINE__, #cond);                                   \
      std::fprintf(stderr, __VA_ARGS__);                               \
      std::fprintf(stderr, "\n");                                      \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

#endif  // SCOPEDFS_FUZZ_FUZZ_UTIL_H_
