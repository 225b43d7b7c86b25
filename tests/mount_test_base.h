// Base fixture for tests that need a live mount. On a machine that cannot
// mount (no /dev/fuse, not root) the test says SKIPPED loudly on stderr and in
// the gtest output; it never passes silently.
#ifndef SCOPEDFS_TESTS_MOUNT_TEST_BASE_H_
#define SCOPEDFS_TESTS_MOUNT_TEST_BASE_H_

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/mount_fixture.h"

namespace scopedfs::testing {

#define SFS_SKIP_UNLESS_MOUNTING_WORKS()                                   \
  do {                                                                     \
    const std::string why = ::scopedfs::testing::WhyMountingCannotRun();   \
    if (!why.empty()) {                                                    \
      std::fprintf(stderr, "\n*** SKIPPED (cannot mount here): %s ***\n",  \
                   why.c_str());                                           \
      GTEST_SKIP() << "SKIPPED: cannot mount here: " << why;               \
    }                                                                      \
  } while (0)

class MountTest : public ::testing::Test {
 protected:
  // Flags for scopedfsd; override to mount differently.
  virtual std::vector<std::string> DaemonFlags() const { return {}; }

  void SetUp() override {
    SFS_SKIP_UNLESS_MOUNTING_WORKS();
    auto m = ScopedfsMount::Start(DaemonFlags());
    ASSERT_TRUE(m.ok()) << m.status();
    mnt_ = std::move(*m);
  }
  void TearDown() override { mnt_.reset(); }

  std::string M(const std::string& rel) const { return mnt_->M(rel); }
  std::string B(const std::string& rel) const { return mnt_->B(rel); }

  uint64_t Stat(const std::string& name) {
    auto stats = mnt_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? (*stats)[name] : ~0ull;
  }

  // Polls the counters until `done` holds (RELEASE and FORGET reach the
  // daemon asynchronously after close() returns); returns the last ones.
  std::map<std::string, uint64_t> StatsWhen(
      const std::function<bool(std::map<std::string, uint64_t>&)>& done) {
    std::map<std::string, uint64_t> last;
    for (int i = 0; i < 200; ++i) {
      auto stats = mnt_->Stats();
      if (!stats.ok()) {
        ADD_FAILURE() << stats.status();
        return last;
      }
      last = *stats;
      if (done(last)) break;
      usleep(10000);
    }
    return last;
  }

  std::unique_ptr<ScopedfsMount> mnt_;
};

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_MOUNT_TEST_BASE_H_
