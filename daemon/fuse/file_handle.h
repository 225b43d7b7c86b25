// What an open file is to the daemon: its own descriptor of the backing file,
// and how the kernel serves it (passthrough or through the daemon).
#ifndef SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_
#define SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_

#include <fuse_lowlevel.h>

#include <cstdint>
#include <memory>

#include "daemon/passthrough.h"
#include "daemon/redaction_cache.h"

namespace scopedfs {

struct FileHandle {
  int fd = -1;
  OpenMode mode = OpenMode::kDaemon;  // Which reference the open holds.
  bool writable = false;
  // Set for an open of a redacted view: reads zero these ranges.
  std::shared_ptr<const RangeList> redacted;
};

inline FileHandle& HandleOf(const fuse_file_info* fi) {
  return *reinterpret_cast<FileHandle*>(static_cast<uintptr_t>(fi->fh));
}

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_
