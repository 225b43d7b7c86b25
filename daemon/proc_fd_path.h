// "/proc/self/fd/N": the kernel resolves it to the very inode behind `fd`, so
// calls that have no *at form for O_PATH descriptors (chmod, truncate, xattrs,
// reopening) reach the node without a path walk through the backing tree.
#ifndef SCOPEDFS_DAEMON_PROC_FD_PATH_H_
#define SCOPEDFS_DAEMON_PROC_FD_PATH_H_

#include <cstdio>

namespace scopedfs {

struct ProcFdPath {
  explicit ProcFdPath(int fd) {
    std::snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
  }
  const char* c_str() const { return buf; }
  char buf[32];
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_PROC_FD_PATH_H_
