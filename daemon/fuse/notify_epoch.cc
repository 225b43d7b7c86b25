#include "daemon/fuse/notify_epoch.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <unistd.h>

#include <cstdint>

#include "base/retry_eintr.h"

namespace scopedfs {
namespace {

// The kernel's fuse_out_header: a notification has unique 0 and its code in
// `error`. INC_EPOCH carries nothing else.
struct OutHeader {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};
constexpr int32_t kNotifyIncEpoch = 8;

}  // namespace

int IncrementKernelEpoch(fuse_session* se) {
  const OutHeader header{sizeof(OutHeader), kNotifyIncEpoch, 0};
  const ssize_t n = RetryEintr([&] {
    return write(fuse_session_fd(se), &header, sizeof header);
  });
  if (n < 0) return errno;
  return n == sizeof header ? 0 : EIO;
}

}  // namespace scopedfs
