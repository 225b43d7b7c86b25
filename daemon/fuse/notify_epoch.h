// FUSE_NOTIFY_INC_EPOCH (protocol 7.44, Linux 6.16): one message that makes
// every dentry the kernel holds for the mount stale, in every tree (the
// shared mount and each app view), without the daemon naming them. libfuse
// 3.17 has no call for it, so the message is written to the session's
// device here.
#ifndef SCOPEDFS_DAEMON_FUSE_NOTIFY_EPOCH_H_
#define SCOPEDFS_DAEMON_FUSE_NOTIFY_EPOCH_H_

struct fuse_session;

namespace scopedfs {

// 0 if the kernel took it; else the errno (EINVAL from a kernel that does
// not know the message: the caller then drops entries one by one).
int IncrementKernelEpoch(fuse_session* se);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_NOTIFY_EPOCH_H_
