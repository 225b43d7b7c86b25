#include "daemon/fuse/request.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "daemon/log.h"

namespace scopedfs {

int StatNode(const Node* node, struct stat* attr) {
  if (fstatat(node->fd, "", attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return errno;
  }
  return 0;
}

int LookupChild(fuse_req_t req, Node* parent, const char* name,
                fuse_entry_param* e, bool mediate) {
  Server& server = ServerOf(req);
  *e = {};
  e->attr_timeout = server.options().timeout;
  e->entry_timeout = server.options().timeout;
  const int fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    close(fd);
    return err;
  }
  if (mediate) {
    const int denied = server.access().CheckName(
        CallerOf(req), parent, name, v1::LOOKUP, S_ISDIR(e->attr.st_mode));
    if (denied != 0) {
      close(fd);
      return denied;
    }
  }
  if (!server.access().SharedCacheAllowed(parent, name)) e->entry_timeout = 0;
  Node* node = server.nodes().Acquire(fd, e->attr, parent, name);
  Stats::Add(server.stats().lookups);
  e->ino = server.nodes().IdOf(node);
  return 0;
}

void ReplyNewEntry(fuse_req_t req, Node* parent, const char* name) {
  fuse_entry_param e;
  if (int err = LookupChild(req, parent, name, &e, /*mediate=*/false); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_entry(req, &e);
}

void NoteBackingError(const char* op, int err) {
  switch (err) {
    case ENOENT: case EEXIST: case EACCES: case EPERM: case ENOTEMPTY:
    case ENOTDIR: case EISDIR: case ENAMETOOLONG: case ELOOP: case EXDEV:
    case ENODATA: case ERANGE: case EINVAL: case EBUSY: case EMLINK:
    case ETXTBSY: case EROFS: case EOPNOTSUPP:
      return;  // A client's ordinary answer, not the daemon's problem.
    default:
      SFS_LOG_EVERY_SEC(kWarning, "%s on the backing dir failed: %s", op,
                        std::strerror(err));
  }
}

}  // namespace scopedfs
