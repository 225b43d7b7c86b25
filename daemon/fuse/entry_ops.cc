// Names: lookup and forget, and every operation that makes or removes a name.
// Permission checks were done by the kernel (default_permissions); inode
// creation runs as the caller so new inodes get the caller's ownership.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>


#include "absl/strings/str_cat.h"
#include "daemon/access.h"
#include "daemon/app_views.h"
#include "daemon/caller_creds.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"

namespace scopedfs {
namespace {

// The policy's verdict on `op` for `name` under `parent` (the file
// `existing`, if known); 0 to proceed.
int Check(fuse_req_t req, Node* parent, const char* name, v1::Operation op,
          bool is_dir, AuditMode audit = AuditMode::kAlways,
          const struct stat* existing = nullptr) {
  return ServerOf(req).access().CheckName(CallerOf(req), parent, name, op,
                                          is_dir, audit, 0, existing);
}

// MOUNT/.apps, and MOUNT/.apps/<uid> (daemon/app_views.h): made-up entries
// every caller may look up (entering a view is checked by the kernel, from
// the view root's ACL, and by the daemon), kept by the kernel like any.
// Returns 0 with `e` filled, or the errno.
int LookupAppView(fuse_req_t req, Node* dir, const char* name,
                  fuse_entry_param* e) {
  Server& server = ServerOf(req);
  struct stat root;
  if (int err = StatNode(server.nodes().Root(), &root); err != 0) return err;
  *e = {};
  e->entry_timeout = server.options().timeout;
  e->attr_timeout = server.options().timeout;
  if (dir->kind != NodeKind::kAppsDir) {
    server.nodes().AcquireAppsDir();
    e->ino = server.nodes().IdOf(server.nodes().AppsDir());
    e->attr = AppsDirAttr(root);
    return 0;
  }
  const std::optional<uint32_t> uid = ParseViewUid(name);
  // A uid whose app the policy names by gid has no view (it would be two).
  if (!uid.has_value() ||
      !server.policy().engine()->IdentifiesByUid(*uid)) {
    return ENOENT;
  }
  Node* view_root = server.nodes().AcquireViewRoot(*uid);
  if (view_root == nullptr) return errno;
  e->ino = server.nodes().IdOf(view_root);
  e->attr = ViewRootAttr(root, *uid);
  return 0;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_entry_param e;
  Node* dir = NodeOf(req, parent);
  if (dir->kind == NodeKind::kAppsDir ||
      (dir == ServerOf(req).nodes().Root() && name == kAppsDirName)) {
    const int err = LookupAppView(req, dir, name, &e);
    if (err != 0) {
      fuse_reply_err(req, err);
    } else {
      fuse_reply_entry(req, &e);
    }
    return;
  }
  // `absent`: the backing directory has no `name` at all (not merely
  // hidden); LookupChild's own fstatat said so, no second one needed.
  bool absent = false;
  const int err = LookupChild(req, dir, name, &e, /*mediate=*/true,
                              /*audit_refusal=*/true, &absent);
  if (err == ENOENT && (dir->in_app_view() || absent)) {
    // A negative entry: the kernel caches the miss for the entry timeout
    // (creations through the mount invalidate it at once, in every tree).
    // Not for a name hidden from this caller (it exists): another may see
    // it. In an app view every caller is the view's uid.
    e = {};
    e.entry_timeout = ServerOf(req).options().timeout;
    fuse_reply_entry(req, &e);
    return;
  }
  if (err != 0) {
    NoteBackingError("lookup of a name", err);
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
// with the new entry (of file type `type`, S_IFMT bits), which the caller
// now owns.
template <typename MakeFn>
void MakeAsCaller(fuse_req_t req, fuse_ino_t parent, const char* name,
                  const char* op, mode_t type, MakeFn make) {
  Node* dir = NodeOf(req, parent);
  if (int denied = ServerOf(req).access().CheckCreate(CallerOf(req), dir, name,
                                                      type);
      denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  {
    ScopedCallerCreds as_caller(req, /*with_groups=*/true, /*with_umask=*/true);
    if (as_caller.error() != 0) {
      fuse_reply_err(req, as_caller.error());
      return;
    }
    if (make(dir->fd) != 0) {
      const int err = errno;
      NoteBackingError(absl::StrCat(op, " of a ", KindOf(type)), err);
      fuse_reply_err(req, err);
      return;
    }
  }
  ReplyNewEntry(req, dir, name);
}

void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
           dev_t rdev) {
  // mknod(2) with no type bits makes a regular file.
  const mode_t type = (mode & S_IFMT) != 0 ? mode & S_IFMT : S_IFREG;
  MakeAsCaller(req, parent, name, "mknod", type, [&](int dirfd) {
    return mknodat(dirfd, name, mode, rdev);
  });
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  MakeAsCaller(req, parent, name, "mkdir", S_IFDIR, [&](int dirfd) {
    return mkdirat(dirfd, name, mode);
  });
}

void Symlink(fuse_req_t req, const char* target, fuse_ino_t parent,
             const char* name) {
  MakeAsCaller(req, parent, name, "symlink", S_IFLNK, [&](int dirfd) {
    return symlinkat(target, dirfd, name);
  });
}

void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
          const char* newname) {
  // The kernel already applied may_linkat (protected_hardlinks) for the
  // caller; a link adds no inode, so it needs no identity switch. It is
  // decided as a move (the new name gives no right the caller lacks on the
  // file) and makes no owner: the new name gets the source name's record.
  Node* node = NodeOf(req, ino);
  Node* dir = NodeOf(req, newparent);
  AccessMediator& access = ServerOf(req).access();
  // An O_TMPFILE file (Tmpfile) gets its first name: that is its creation,
  // decided and recorded as one (its maker may not be who links it).
  struct stat before;
  const bool unnamed = fstat(node->fd, &before) == 0 && before.st_nlink == 0 &&
                       S_ISREG(before.st_mode);
  // The source may have been reached without a lookup (linkat of a passed
  // descriptor's /proc/self/fd/N): a caller links only what it can see.
  if (int hidden = access.CheckVisible(CallerOf(req), node); hidden != 0) {
    fuse_reply_err(req, hidden);
    return;
  }
  if (int denied =
          unnamed ? access.CheckCreate(CallerOf(req), dir, newname, S_IFREG)
                  : access.CheckLink(CallerOf(req), node, dir, newname);
      denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  if (linkat(node->fd, "", dir->fd, newname, AT_EMPTY_PATH) != 0) {
    const int err = errno;
    NoteBackingError(absl::StrCat("link of a ", KindOf(node->type)), err);
    fuse_reply_err(req, err);
    return;
  }
  if (unnamed) {
    ReplyNewEntry(req, dir, newname);
    return;
  }
  struct stat st;
  if (fstatat(dir->fd, newname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    access.NoteLinked(node, dir, newname, st);
  }
  // The new name gets a node of its own (node_table.h): the file's known
  // nodes must show the new st_nlink too.
  ServerOf(req).NoteLinkCountChanged(node);
  ServerOf(req).NoteNameChanged(dir, newname);
  ReplyEntry(req, dir, newname);
}

// unlink and rmdir.
void RemoveName(fuse_req_t req, fuse_ino_t parent, const char* name,
                bool is_dir) {
  Node* dir = NodeOf(req, parent);
  if (int denied = Check(req, dir, name, v1::DELETE, is_dir); denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  const int res = unlinkat(dir->fd, name, is_dir ? AT_REMOVEDIR : 0);
  const int err = res == 0 ? 0 : errno;
  if (err != 0) {
    NoteBackingError(is_dir ? "rmdir of a directory" : "unlink of a name", err);
  } else {
    ServerOf(req).access().NoteRemoved(dir, name);
    ServerOf(req).NoteNameChanged(dir, name);
  }
  fuse_reply_err(req, err);
}

void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  RemoveName(req, parent, name, /*is_dir=*/false);
}

void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  RemoveName(req, parent, name, /*is_dir=*/true);
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name,
            fuse_ino_t newparent, const char* newname, unsigned int flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  Node* from = NodeOf(req, parent);
  Node* to = NodeOf(req, newparent);
  // The policy sees both names; the node table learns where the inodes went.
  struct stat src_st, dst_st;
  const bool src_known = fstatat(from->fd, name, &src_st, AT_SYMLINK_NOFOLLOW) == 0;
  const int src_errno = errno;
  const bool dst_known = fstatat(to->fd, newname, &dst_st, AT_SYMLINK_NOFOLLOW) == 0;
  const bool is_dir = src_known && S_ISDIR(src_st.st_mode);
  if (!src_known) {
    // Nothing to decide on: the backing dir answers (ENOENT, most likely).
    fuse_reply_err(req, src_errno);
    return;
  }
  // Both names, and what the move gives (daemon/access_moves.cc).
  const int denied = ServerOf(req).access().CheckRename(
      CallerOf(req), from, name, src_st, to, newname,
      dst_known ? &dst_st : nullptr, flags);
  if (denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  // A whiteout is a new inode (a 0:0 character device): the caller's.
  const int res = CallAsCallerIf(req, (flags & RENAME_WHITEOUT) != 0, [&] {
    return renameat2(from->fd, name, to->fd, newname, flags);
  });
  const int err = res == 0 ? 0 : errno;
  if (err != 0) {
    NoteBackingError("rename of a name", err);
  } else {
    ServerOf(req).access().NoteRenamed(from, name, to, newname,
                                       (flags & RENAME_EXCHANGE) != 0);
    // The nodes that stood for the old name (both views; of a file with
    // several names, only that name's) now stand for the new one.
    if (src_known) {
      ServerOf(req).nodes().Renamed(from, name, src_st, to, newname,
                                    dst_known ? &dst_st : nullptr,
                                    (flags & RENAME_EXCHANGE) != 0);
    }
    // Every path below a moved directory changed.
    if (is_dir || (dst_known && S_ISDIR(dst_st.st_mode))) {
      ServerOf(req).access().Clear();
    }
    ServerOf(req).NoteNameChanged(from, name);
    ServerOf(req).NoteNameChanged(to, newname);
  }
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
