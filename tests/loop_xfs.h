// A loop-mounted xfs file system with reflink, for tests that need a backing
// file system other than the test machine's (redacted views over reflinked
// copies: daemon/reflinked_views.h). The destructor unmounts it and detaches
// its loop device, also when the test failed.
#ifndef SCOPEDFS_TESTS_LOOP_XFS_H_
#define SCOPEDFS_TESTS_LOOP_XFS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace scopedfs::testing {

// Empty when an xfs loop mount can be made here; else why not (not root,
// no mkfs.xfs or losetup: ./setup.sh installs xfsprogs).
std::string WhyLoopXfsCannotRun();

class LoopXfs {
 public:
  // Makes a sparse image file `image` of `mib` MiB (xfs needs 300 at
  // least), formats it with reflink, attaches it to a free loop device and
  // mounts it on the existing directory `dir`, whose mode the root of the
  // new file system takes.
  static absl::StatusOr<std::unique_ptr<LoopXfs>> Mount(const std::string& image,
                                                        const std::string& dir,
                                                        int mib = 320);
  ~LoopXfs();
  LoopXfs(const LoopXfs&) = delete;
  LoopXfs& operator=(const LoopXfs&) = delete;

  const std::string& device() const { return device_; }

 private:
  LoopXfs(std::string image, std::string dir) : image_(image), dir_(dir) {}
  std::string image_, dir_, device_;
  bool mounted_ = false;
};

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_LOOP_XFS_H_
