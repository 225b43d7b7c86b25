// The FUSE low-level operations of scopedfs, one family per file:
//   lifecycle_ops.cc  init, destroy
//   entry_ops.cc      lookup, forget, mknod, mkdir, symlink, link, unlink,
//                     rmdir, rename
//   attr_ops.cc       getattr, setattr, readlink, statfs
//   dir_ops.cc        opendir, readdir, readdirplus, releasedir, fsyncdir
//   file_ops.cc       open, create, read, write, flush, release, fsync,
//                     fallocate, copy_file_range, lseek
//   xattr_ops.cc      setxattr, getxattr, listxattr, removexattr
// Locks (POSIX and flock) are left to the kernel, which enforces them among
// all clients of the mount (see README).
#ifndef SCOPEDFS_DAEMON_FUSE_OPS_H_
#define SCOPEDFS_DAEMON_FUSE_OPS_H_

#include <fuse_lowlevel.h>

namespace scopedfs {

// The operation table to pass to fuse_session_new, with a Server* userdata.
fuse_lowlevel_ops MakeFuseOps();

// Each family fills its members.
void AddLifecycleOps(fuse_lowlevel_ops& ops);
void AddEntryOps(fuse_lowlevel_ops& ops);
void AddAttrOps(fuse_lowlevel_ops& ops);
void AddDirOps(fuse_lowlevel_ops& ops);
void AddFileOps(fuse_lowlevel_ops& ops);
void AddXattrOps(fuse_lowlevel_ops& ops);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_OPS_H_
