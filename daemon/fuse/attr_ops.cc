// Attributes: getattr, setattr, readlink, statfs. The kernel has already
// decided whether the caller may change what it asks to change
// (setattr_prepare with default_permissions), including stripping S_ISGID
// where the caller is not in the file's group.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/fuse/file_handle.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"

namespace scopedfs {
namespace {

void ReplyAttr(fuse_req_t req, const Node* node) {
  struct stat st;
  if (int err = StatNode(node, &st); err != 0) {
    NoteBackingError("getattr", err);
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_attr(req, &st, ServerOf(req).options().timeout);
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  ReplyAttr(req, NodeOf(req, ino));
}

// Applies one SETATTR. Returns 0 or an errno; stops at the first failure.
int ApplySetattr(const Node* node, const struct stat& attr, int valid,
                 const fuse_file_info* fi) {
  const ProcFdPath path(node->fd);
  // The kernel names a handle only for ftruncate(2) of an open file.
  const int open_fd = fi != nullptr ? HandleOf(fi).fd : -1;

  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    const uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr.st_uid : static_cast<uid_t>(-1);
    const gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr.st_gid : static_cast<gid_t>(-1);
    if (fchownat(node->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      return errno;
    }
  }
  // Mode after owner: chown clears set-id bits, and a mode the kernel sent in
  // the same request is the one that must stand.
  if (valid & FUSE_SET_ATTR_MODE) {
    if (chmod(path.c_str(), attr.st_mode) != 0) return errno;
  }
  if (valid & FUSE_SET_ATTR_SIZE) {
    const int res = open_fd >= 0 ? ftruncate(open_fd, attr.st_size)
                                 : truncate(path.c_str(), attr.st_size);
    if (res != 0) return errno;
  }
  if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    timespec times[2];
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_nsec = UTIME_OMIT;
    if (valid & FUSE_SET_ATTR_ATIME_NOW) {
      times[0].tv_nsec = UTIME_NOW;
    } else if (valid & FUSE_SET_ATTR_ATIME) {
      times[0] = attr.st_atim;
    }
    if (valid & FUSE_SET_ATTR_MTIME_NOW) {
      times[1].tv_nsec = UTIME_NOW;
    } else if (valid & FUSE_SET_ATTR_MTIME) {
      times[1] = attr.st_mtim;
    }
    if (utimensat(node->fd, "", times, AT_EMPTY_PATH) != 0) return errno;
  }
  return 0;
}

void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid,
             fuse_file_info* fi) {
  const Node* node = NodeOf(req, ino);
  if (int err = ApplySetattr(node, *attr, valid, fi); err != 0) {
    NoteBackingError("setattr", err);
    fuse_reply_err(req, err);
    return;
  }
  ReplyAttr(req, node);
}

void Readlink(fuse_req_t req, fuse_ino_t ino) {
  char buf[PATH_MAX + 1];
  const ssize_t n = readlinkat(NodeOf(req, ino)->fd, "", buf, sizeof(buf));
  if (n < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  if (n == sizeof(buf)) {
    fuse_reply_err(req, ENAMETOOLONG);
    return;
  }
  buf[n] = '\0';
  fuse_reply_readlink(req, buf);
}

void Statfs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs st;
  if (fstatvfs(NodeOf(req, ino)->fd, &st) != 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fuse_reply_statfs(req, &st);
}

}  // namespace

void AddAttrOps(fuse_lowlevel_ops& ops) {
  ops.getattr = Getattr;
  ops.setattr = Setattr;
  ops.readlink = Readlink;
  ops.statfs = Statfs;
}

}  // namespace scopedfs
