// Names: lookup and forget, and every operation that makes or removes a name.
// Permission checks were done by the kernel (default_permissions); inode
// creation runs as the caller so new inodes get the caller's ownership.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/caller_creds.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"

namespace scopedfs {
namespace {

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_entry_param e;
  const int err = LookupChild(req, NodeOf(req, parent), name, &e);
  if (err == ENOENT) {
    // A negative entry: the kernel caches the miss for the entry timeout
    // (creations through the mount invalidate it at once).
    e = {};
    e.entry_timeout = ServerOf(req).options().timeout;
    fuse_reply_entry(req, &e);
    return;
  }
  if (err != 0) {
    NoteBackingError("lookup", err);
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_entry(req, &e);
}

void ForgetOne(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Server& server = ServerOf(req);
  server.nodes().Forget(server.nodes().Get(ino), nlookup);
  Stats::Add(server.stats().forgets);
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  ForgetOne(req, ino, nlookup);
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) {
    ForgetOne(req, forgets[i].ino, forgets[i].nlookup);
  }
  fuse_reply_none(req);
}

// Runs `make` (a *at call on the parent's fd) as the caller, then replies
// with the new entry.
template <typename MakeFn>
void MakeAsCaller(fuse_req_t req, fuse_ino_t parent, const char* name,
                  const char* op, MakeFn make) {
  Node* dir = NodeOf(req, parent);
  {
    ScopedCallerCreds as_caller(req, /*with_groups=*/true);
    if (as_caller.error() != 0) {
      fuse_reply_err(req, as_caller.error());
      return;
    }
    if (make(dir->fd) != 0) {
      const int err = errno;
      NoteBackingError(op, err);
      fuse_reply_err(req, err);
      return;
    }
  }
  ReplyNewEntry(req, dir, name);
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
           dev_t rdev) {
  MakeAsCaller(req, parent, name, "mknod", [&](int dirfd) {
    return mknodat(dirfd, name, mode, rdev);
  });
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  MakeAsCaller(req, parent, name, "mkdir", [&](int dirfd) {
    return mkdirat(dirfd, name, mode);
  });
}

void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent,
             const char* name) {
  MakeAsCaller(req, parent, name, "symlink", [&](int dirfd) {
    return symlinkat(target, dirfd, name);
  });
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
          const char* newname) {
  // The kernel already applied may_linkat (protected_hardlinks) for the
  // caller; a link adds no inode, so it needs no identity switch.
  Node* node = NodeOf(req, ino);
  Node* dir = NodeOf(req, newparent);
  if (linkat(node->fd, "", dir->fd, newname, AT_EMPTY_PATH) != 0) {
    const int err = errno;
    NoteBackingError("link", err);
    fuse_reply_err(req, err);
    return;
  }
  ReplyNewEntry(req, dir, newname);
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const int res = unlinkat(NodeOf(req, parent)->fd, name, 0);
  const int err = res == 0 ? 0 : errno;
  if (err != 0) NoteBackingError("unlink", err);
  fuse_reply_err(req, err);
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  const int res = unlinkat(NodeOf(req, parent)->fd, name, AT_REMOVEDIR);
  const int err = res == 0 ? 0 : errno;
  if (err != 0) NoteBackingError("rmdir", err);
  fuse_reply_err(req, err);
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
            fuse_ino_t newparent, const char* newname, unsigned int flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    fuse_reply_err(req, EINVAL);  // RENAME_WHITEOUT is for overlayfs only.
    return;
  }
  const int res = renameat2(NodeOf(req, parent)->fd, name,
                            NodeOf(req, newparent)->fd, newname, flags);
  const int err = res == 0 ? 0 : errno;
  if (err != 0) NoteBackingError("rename", err);
  fuse_reply_err(req, err);
}

}  // namespace

void AddEntryOps(fuse_lowlevel_ops& ops) {
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.mknod = Mknod;
  ops.mkdir = Mkdir;
  ops.symlink = Symlink;
  ops.link = Link;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.rename = Rename;
}

}  // namespace scopedfs
