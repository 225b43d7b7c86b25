// Extended attributes. The VFS has already applied the namespace rules for the
// caller (user.* needs write permission and a regular file or directory,
// trusted.* needs CAP_SYS_ADMIN, ...). O_PATH descriptors do not take f*xattr
// calls, so the node is reached through its /proc/self/fd magic link, which
// resolves to the node's own inode (for a symlink: the link, not its target).
#include <errno.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <vector>

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

void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  const ProcFdPath path(NodeOf(req, ino)->fd);
  std::vector<char> buf(size);
  const ssize_t n = size == 0 ? listxattr(path.c_str(), nullptr, 0)
                              : listxattr(path.c_str(), buf.data(), size);
  ReplySized(req, size, buf, n);
}

void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name,
              const char* value, size_t size, int flags) {
  const ProcFdPath path(NodeOf(req, ino)->fd);
  const int res = setxattr(path.c_str(), name, value, size, flags);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
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
