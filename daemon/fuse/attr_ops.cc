// Attributes: getattr, setattr, readlink, statfs. The kernel has already
// decided whether the caller may change what it asks to change
// (setattr_prepare with default_permissions), including stripping S_ISGID
// where the caller is not in the file's group.
//
// The kernel sends these for a node however the caller reached it: by a
// name it looked up, but also through a descriptor another process passed it
// (an O_PATH descriptor over SCM_RIGHTS, /proc/PID/fd/N). So each is decided
// on the node itself (AccessMediator::CheckVisible: LOOKUP, cached per node),
// not only at lookup.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>


#include "absl/strings/str_cat.h"
#include "daemon/fuse/file_handle.h"
#include "daemon/access.h"
#include "daemon/caller_creds.h"
#include "daemon/passthrough.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"

namespace scopedfs {
namespace {

void ReplyAttr(fuse_req_t req, const Node* node) {
  struct stat st;
  if (int err = StatNode(node, &st); err != 0) {
    NoteBackingError(absl::StrCat("getattr of a ", KindOf(node->type)), err);
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_attr(req, &st, AttrTimeout(req, node, st));
}

void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Node* node = NodeOf(req, ino);
  // With a handle (FUSE_GETATTR_FH) the kernel refreshes an open file's size
  // for its I/O (reads, SEEK_END): an open the policy already decided, whose
  // I/O it does not decide. stat and fstat send no handle.
  // A view's root shows its attributes to anyone (who may enter is in them:
  // app_views.h), like any directory's own.
  if (fi == nullptr && node->kind != NodeKind::kViewRoot) {
    if (int err = ServerOf(req).access().CheckVisible(CallerOf(req), node);
        err != 0) {
      fuse_reply_err(req, err);
      return;
    }
  }
  ReplyAttr(req, node);
}

// Applies one SETATTR (as the caller). Returns 0 or an errno; stops at the
// first failure.
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

// A SETATTR with nothing to set: chown(f, -1, -1) (the kernel checked it),
// or the kernel's set-id check just before it sends a write (which clears
// set-id bits itself, see AsCallerIfSetid). Natively only the ctime changes,
// plus the set-id bits for a non-root owner.
int TouchCtime(fuse_req_t req, Node* node) {
  struct stat st;
  if (int err = StatNode(node, &st); err != 0) return err;
  const uid_t uid = fuse_req_ctx(req)->uid;
  const bool setid = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
  if (uid != 0 && uid != st.st_uid && setid) {
    // Not the owner of a set-id file. With a write open through the daemon
    // (set-id files are served that way) this is the write's check, and the
    // write itself clears the bits; otherwise it is chown(-1, -1), which
    // natively fails: clearing the bits would be a mode change by a
    // non-owner.
    return HasDaemonWriter(node) ? 0 : EPERM;
  }
  const int res = CallAsCallerIf(req, uid == st.st_uid, [&] {
    return fchownat(node->fd, "", -1, -1, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  });
  return res == 0 ? 0 : errno;
}

void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int valid,
             fuse_file_info* fi) {
  Node* node = NodeOf(req, ino);
  // Truncating changes content: it needs WRITE, like an open for writing.
  const v1::Operation op =
      (valid & FUSE_SET_ATTR_SIZE) ? v1::WRITE : v1::SETATTR;
  if (int denied = ServerOf(req).access().CheckNode(CallerOf(req), node, op);
      denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  // Set-id kill flags (KILLPRIV_V2) need no work of their own: every
  // change below runs as the caller, so the backing file system clears the
  // bits by its own rules.
  valid &= ~(FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID);
  int err;
  if (valid == 0) {
    err = TouchCtime(req, node);
  } else {
    // As the caller: the backing file system then applies its own checks and
    // clears set-id bits as it would for this caller (KILLPRIV_V2).
    ScopedCallerCreds as_caller(req, /*with_groups=*/true);
    err = as_caller.error() != 0 ? as_caller.error()
                                 : ApplySetattr(node, *attr, valid, fi);
  }
  if (err != 0) {
    NoteBackingError(absl::StrCat("setattr of a ", KindOf(node->type)), err);
    fuse_reply_err(req, err);
    return;
  }
  if (valid & FUSE_SET_ATTR_SIZE) ServerOf(req).NoteFileChanged(node);
  ReplyAttr(req, node);
}

// The kernel asks READLINK both to follow a link and for readlink(2): with
// symlink caching off (lifecycle_ops.cc), for every caller every time.
void Readlink(fuse_req_t req, fuse_ino_t ino) {
  Node* node = NodeOf(req, ino);
  AccessMediator& access = ServerOf(req).access();
  const Caller caller = CallerOf(req);
  int denied = access.CheckVisible(caller, node);
  if (denied == 0) denied = access.CheckFollow(caller, node);
  if (denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  char buf[PATH_MAX + 1];
  const ssize_t n = readlinkat(node->fd, "", buf, sizeof(buf));
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
  Node* node = NodeOf(req, ino);
  // A node's file system (a mount inside the backing tree) is something
  // about it.
  if (int err = ServerOf(req).access().CheckVisible(CallerOf(req), node);
      err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  struct statvfs st;
  if (fstatvfs(node->fd, &st) != 0) {
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
