// The handle of a request's open file (fi->fh, see daemon/open_handles.h).
#ifndef SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_
#define SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_

#include <fuse_lowlevel.h>

#include "daemon/open_handles.h"

namespace scopedfs {

inline FileHandle& HandleOf(const fuse_file_info* fi) { return HandleAt(fi->fh); }

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_FILE_HANDLE_H_
