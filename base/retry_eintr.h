// Retrying a system call that a signal interrupted, written once: FUSE
// worker threads and the admin server's threads take signals (SIGUSR1 for
// the stats, libfuse's shutdown signals), and a read cut short by one must
// not become an error the caller sees.
#ifndef SCOPEDFS_BASE_RETRY_EINTR_H_
#define SCOPEDFS_BASE_RETRY_EINTR_H_

#include <errno.h>

namespace scopedfs {

// Calls `f` (a system call returning -1 and setting errno on failure, such
// as read, pread, pwrite, write, poll or copy_file_range) until it succeeds
// or fails with something other than EINTR. Returns its last result; errno
// is as `f` left it.
//   const ssize_t n = RetryEintr([&] { return pread(fd, buf, size, off); });
template <typename F>
auto RetryEintr(F f) -> decltype(f()) {
  decltype(f()) result;
  do {
    result = f();
  } while (result == -1 && errno == EINTR);
  return result;
}

}  // namespace scopedfs

#endif  // SCOPEDFS_BASE_RETRY_EINTR_H_
