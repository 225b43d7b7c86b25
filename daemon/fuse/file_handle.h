// What an open file is to the daemon: its own descriptor of the backing file,
// and whether the open holds a reference on the node's passthrough backing id.
#ifndef SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_
#define SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_

#include <fuse_lowlevel.h>

#include <cstdint>

namespace scopedfs {

struct FileHandle {
  int fd = -1;
  bool holds_backing = false;
};

inline FileHandle& HandleOf(const fuse_file_info* fi) {
  return *reinterpret_cast<FileHandle*>(static_cast<uintptr_t>(fi->fh));
}

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_
