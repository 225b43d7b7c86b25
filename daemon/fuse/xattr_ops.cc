// Extended attributes. The VFS has already applied the namespace rules for the
// caller (user.* needs write permission and a regular file or directory,
// trusted.* needs CAP_SYS_ADMIN, ...). O_PATH descriptors do not take f*xattr
// calls, so the node is reached through its /proc/self/fd magic link, which
// resolves to the node's own inode (for a symlink: the link, not its target).
//
// The policy decides every request on the node itself, whichever descriptor
// reached it (a passed O_PATH descriptor's /proc/self/fd/N needs no lookup):
// reading attributes needs the node to be visible (LOOKUP: hidden ENOENT,
// denied EACCES, audited), changing them is a SETATTR.
//
// Values of user.* and trusted.* attributes are data like the file's
// content: any writer puts free text there (user.xdg.origin.url, tags,
// where a photo was taken), so a caller that reads the redacted view finds
// them absent (ENODATA, left out of lists) and a caller refused READ cannot
// read them. system.posix_acl_* and security.* stay readable to every caller
// that sees the node: they are access-control data in fixed formats
// (ACL entries, LSM labels, file capabilities) that only the owner or a
// privileged process sets, the kernel itself reads the ACLs through here for
// its permission checks, and ls -l, cp -p and cp -a read them on every file;
// refusing them would break those tools and hide no location.
#include <errno.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstring>
#include <string>
#include <vector>

#include "daemon/access.h"
#include "daemon/app_views.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"

namespace scopedfs {
namespace {

// Replies to a size probe (size 0) with the size, else with the bytes.
void ReplySized(fuse_req_t req, size_t size, const std::vector<char>& buf,
                ssize_t n) {
  if (n < 0) {
    fuse_reply_err(req, errno);
  } else if (size == 0) {
    fuse_reply_xattr(req, n);
  } else {
    fuse_reply_buf(req, buf.data(), n);
  }
}

// user.* and trusted.*: values a caller may only read along with the
// file's real content (see the top).
bool IsDataName(const char* name) {
  return std::strncmp(name, "user.", 5) == 0 ||
         std::strncmp(name, "trusted.", 8) == 0;
}

// The made-up directories' attributes (app_views.h): the ACL that says who
// may enter a view, for every caller (the kernel reads it, as the caller,
// to check the caller's way in); `.apps` has none. Returns false for the
// rest, which are the backing root's.
bool ReplyMadeUpXattr(fuse_req_t req, const Node* node, const char* name,
                      size_t size) {
  if (node->kind == NodeKind::kAppsDir) {
    fuse_reply_err(req, ENODATA);
    return true;
  }
  if (node->kind != NodeKind::kViewRoot ||
      std::strcmp(name, "system.posix_acl_access") != 0) {
    return false;
  }
  struct stat root;
  if (int err = StatNode(ServerOf(req).nodes().Root(), &root); err != 0) {
    fuse_reply_err(req, err);
    return true;
  }
  const std::string acl = ViewRootAcl(root, node->app_uid);
  if (acl.empty()) {
    fuse_reply_err(req, ENODATA);
  } else if (size == 0) {
    fuse_reply_xattr(req, acl.size());
  } else if (size < acl.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, acl.data(), acl.size());
  }
  return true;
}

void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Node* node = NodeOf(req, ino);
  if (ReplyMadeUpXattr(req, node, name, size)) return;
  AccessMediator& access = ServerOf(req).access();
  const Caller caller = CallerOf(req);
  int denied = access.CheckVisible(caller, node);
  if (denied == 0 && IsDataName(name)) {
    denied = access.CheckXattrValues(caller, node, AuditMode::kIfRefused);
  }
  if (denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  const ProcFdPath path(node->fd);
  std::vector<char> buf(size);
  const ssize_t n = size == 0 ? getxattr(path.c_str(), name, nullptr, 0)
                              : getxattr(path.c_str(), name, buf.data(), size);
  ReplySized(req, size, buf, n);
}

// Drops the names `drop` says to from a list of `n` bytes; returns the
// kept length.
template <typename Pred>
size_t WithoutNames(std::vector<char>& names, size_t n, Pred drop) {
  size_t kept = 0;
  for (size_t i = 0; i < n;) {
    const size_t len = strnlen(names.data() + i, n - i) + 1;
    if (!drop(names.data() + i)) {
      std::memmove(names.data() + kept, names.data() + i, len);
      kept += len;
    }
    i += len;
  }
  return kept;
}

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Node* node = NodeOf(req, ino);
  if (node->kind == NodeKind::kAppsDir) {  // None.
    fuse_reply_xattr(req, 0);
    return;
  }
  AccessMediator& access = ServerOf(req).access();
  const Caller caller = CallerOf(req);
  if (int denied = access.CheckVisible(caller, node); denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  const ProcFdPath path(node->fd);
  if (caller.uid == 0) {
    std::vector<char> buf(size);
    const ssize_t n = size == 0 ? listxattr(path.c_str(), nullptr, 0)
                                : listxattr(path.c_str(), buf.data(), size);
    ReplySized(req, size, buf, n);
    return;
  }
  // Filtering needs the whole list, also to answer a size probe exactly.
  std::vector<char> buf;
  ssize_t n;
  do {
    n = listxattr(path.c_str(), nullptr, 0);
    if (n < 0) break;
    buf.resize(n);
    n = n == 0 ? 0 : listxattr(path.c_str(), buf.data(), buf.size());
  } while (n < 0 && errno == ERANGE);  // Grew in between: again.
  if (n < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  // trusted.* names: the backing file system shows them only to callers
  // with CAP_SYS_ADMIN, and the daemon lists as root. user.* names: only to
  // a caller that may read their values (asked only if there are some; a
  // listing leaves them out without an audit row, as readdir does).
  bool data_names = false;
  size_t kept = WithoutNames(buf, n, [&](const char* name) {
    if (std::strncmp(name, "trusted.", 8) == 0) return true;
    data_names = data_names || IsDataName(name);
    return false;
  });
  if (data_names &&
      access.CheckXattrValues(caller, node, AuditMode::kNever) != 0) {
    kept = WithoutNames(buf, kept, IsDataName);
  }
  if (size == 0) {
    fuse_reply_xattr(req, kept);
  } else if (kept > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, buf.data(), kept);
  }
}

// Changing extended attributes is a SETATTR for the policy. A view's root
// takes none: its ACL is made up, and the share root's own attributes are
// changed through the mount root.
int CheckSetattr(fuse_req_t req, fuse_ino_t ino) {
  if (NodeOf(req, ino)->kind == NodeKind::kViewRoot) return EPERM;
  return ServerOf(req).access().CheckNode(CallerOf(req), NodeOf(req, ino),
                                          v1::SETATTR);
}

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name,
              const char* value, size_t size, int flags) {
  if (int denied = CheckSetattr(req, ino); denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  const ProcFdPath path(NodeOf(req, ino)->fd);
  const int res = setxattr(path.c_str(), name, value, size, flags);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  if (int denied = CheckSetattr(req, ino); denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  const ProcFdPath path(NodeOf(req, ino)->fd);
  const int res = removexattr(path.c_str(), name);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

}  // namespace

void AddXattrOps(fuse_lowlevel_ops& ops) {
  ops.getxattr = Getxattr;
  ops.listxattr = Listxattr;
  ops.setxattr = Setxattr;
  ops.removexattr = Removexattr;
}

}  // namespace scopedfs
