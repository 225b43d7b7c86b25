// Opening a backing file for the daemon's own reads (content sniffing,
// redaction planning, the O_DIRECT barrier) without changing its atime: the
// client did not read it. O_NOATIME needs ownership or CAP_FOWNER; without
// them the file is opened anyway.
#ifndef SCOPEDFS_DAEMON_OPEN_NO_ATIME_H_
#define SCOPEDFS_DAEMON_OPEN_NO_ATIME_H_

#include <errno.h>
#include <fcntl.h>

namespace scopedfs {

// openat(dirfd, path, flags | O_NOATIME), retried without O_NOATIME on
// EPERM. `path` may be a /proc/self/fd magic link (dirfd is then ignored).
inline int OpenatNoAtime(int dirfd, const char* path, int flags) {
  const int fd = openat(dirfd, path, flags | O_NOATIME);
  if (fd >= 0 || errno != EPERM) return fd;
  return openat(dirfd, path, flags);
}

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_OPEN_NO_ATIME_H_
