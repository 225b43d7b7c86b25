// Extended attributes. The VFS has already applied the namespace rules for the
// caller (user.* needs write permission and a regular file or directory,
// trusted.* needs CAP_SYS_ADMIN, ...). O_PATH descriptors do not take f*xattr
// calls, so the node is reached through its /proc/self/fd magic link, which
// resolves to the node's own inode (for a symlink: the link, not its target).
#include <errno.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstring>
#include <vector>

#include "daemon/access.h"
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

void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  const ProcFdPath path(NodeOf(req, ino)->fd);
  std::vector<char> buf(size);
  const ssize_t n = size == 0 ? getxattr(path.c_str(), name, nullptr, 0)
                              : getxattr(path.c_str(), name, buf.data(), size);
  ReplySized(req, size, buf, n);
}

// Drops trusted.* names: the backing file system shows them only to callers
// with CAP_SYS_ADMIN, and the daemon lists as root.
size_t WithoutTrustedNames(std::vector<char>& names, size_t n) {
  size_t kept = 0;
  for (size_t i = 0; i < n;) {
    const size_t len = strnlen(names.data() + i, n - i) + 1;
    if (std::strncmp(names.data() + i, "trusted.", 8) != 0) {
      std::memmove(names.data() + kept, names.data() + i, len);
      kept += len;
    }
    i += len;
  }
  return kept;
}

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  const ProcFdPath path(NodeOf(req, ino)->fd);
  if (fuse_req_ctx(req)->uid == 0) {
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
  const size_t kept = WithoutTrustedNames(buf, n);
  if (size == 0) {
    fuse_reply_xattr(req, kept);
  } else if (kept > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, buf.data(), kept);
  }
}

// Changing extended attributes is a SETATTR for the policy.
int CheckSetattr(fuse_req_t req, fuse_ino_t ino) {
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
