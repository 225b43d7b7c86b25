#include "daemon/fuse/request.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "daemon/app_views.h"
#include "daemon/log.h"
#include "daemon/passthrough.h"

namespace scopedfs {

int StatNode(const Node* node, struct stat* attr) {
  if (fstatat(node->fd, "", attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return errno;
  }
  // The made-up directories report what app_views.h says.
  if (node->kind == NodeKind::kAppsDir) {
    *attr = AppsDirAttr(*attr);
  } else if (node->kind == NodeKind::kViewRoot) {
    *attr = ViewRootAttr(*attr, node->app_uid);
  } else if (node->redacted_view) {
    // A view bound to a reflinked copy shows the version its opens read
    // (their fstat sizes their reads and maps); a lookup of the name after
    // the file changed yields a new node (daemon/reflinked_views.h).
    if (const std::shared_ptr<const ViewCopy> copy = BackingCopyOf(node)) {
      const struct stat& v = copy->version();
      attr->st_size = v.st_size;
      attr->st_blocks = v.st_blocks;
      attr->st_mtim = v.st_mtim;
      attr->st_ctim = v.st_ctim;
    }
  }
  return 0;
}

double AttrTimeout(fuse_req_t req, const Node* node, const struct stat& st) {
  return HasSeveralNames(node, st) ? 0 : ServerOf(req).options().timeout;
}

int LookupChild(fuse_req_t req, Node* parent, const char* name,
                fuse_entry_param* e, bool mediate, bool audit_refusal,
                bool* absent) {
  Server& server = ServerOf(req);
  *e = {};
  e->attr_timeout = server.options().timeout;
  e->entry_timeout = server.options().timeout;
  if (fstatat(parent->fd, name, &e->attr, AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    if (absent != nullptr) *absent = err == ENOENT;
    return err;
  }
  const AccessMediator::LookupVerdict verdict = server.access().CheckLookup(
      CallerOf(req), parent, name, e->attr, mediate,
      audit_refusal ? AuditMode::kIfRefused : AuditMode::kNever);
  if (verdict.err != 0) return verdict.err;
  if (!verdict.shared_cache_ok) e->entry_timeout = 0;
  // A regular file's redacted view is a node (id) of its own, and so is
  // each name of a file with several (the table picks the node by the
  // status and the name).
  const bool redacted = verdict.redacted;
  // Most lookups revalidate a name the kernel already knows: no descriptor
  // to open then.
  Node* node = server.nodes().AcquireKnown(e->attr, parent, name, redacted);
  if (node != nullptr && redacted && BoundToOtherVersion(node, e->attr)) {
    // A view bound to an older copy of the file (daemon/reflinked_views.h)
    // cannot open this version: the name gets a new node.
    server.RenewRedactedView(node);
    server.nodes().Forget(node, 1);  // The lookup AcquireKnown added.
    node = nullptr;
  }
  if (node == nullptr) {
    const int fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (absent != nullptr) *absent = err == ENOENT;  // Gone meanwhile.
      NoteBackingError("lookup of a name", err);
      return err;
    }
    struct stat st;
    if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 ||
        st.st_dev != e->attr.st_dev || st.st_ino != e->attr.st_ino ||
        (st.st_mode & S_IFMT) != (e->attr.st_mode & S_IFMT)) {
      // The name was replaced between the two calls: let the kernel retry.
      close(fd);
      return ESTALE;
    }
    e->attr = st;
    node = server.nodes().Acquire(fd, e->attr, parent, name, redacted);
  }
  Stats::Add(server.stats().lookups);
  e->attr_timeout = AttrTimeout(req, node, e->attr);
  e->ino = server.nodes().IdOf(node);
  return 0;
}

void NoteNewName(fuse_req_t req, Node* parent, const char* name) {
  struct stat st;
  if (fstatat(parent->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    ServerOf(req).access().NoteCreated(CallerOf(req), parent, name, st);
  }
  ServerOf(req).NoteNameChanged(parent, name);
}

void ReplyNewEntry(fuse_req_t req, Node* parent, const char* name) {
  NoteNewName(req, parent, name);
  ReplyEntry(req, parent, name);
}

void ReplyEntry(fuse_req_t req, Node* parent, const char* name) {
  fuse_entry_param e;
  if (int err = LookupChild(req, parent, name, &e, /*mediate=*/false); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_entry(req, &e);
}

const char* KindOf(mode_t type) {
  switch (type & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symbolic link";
    default: return "special file";
  }
}

void NoteBackingError(absl::string_view what, int err) {
  // Out of descriptors: the one failure an admin must hear of before the
  // clients do (README, "Metrics and alerts").
  if (err == EMFILE || err == ENFILE) Stats::CountDescriptorExhaustion();
  switch (err) {
    case ENOENT: case EEXIST: case EACCES: case EPERM: case ENOTEMPTY:
    case ENOTDIR: case EISDIR: case ENAMETOOLONG: case ELOOP: case EXDEV:
    case ENODATA: case ERANGE: case EINVAL: case EBUSY: case EMLINK:
    case ETXTBSY: case EROFS: case EOPNOTSUPP: case EFBIG: case EOVERFLOW:
    case E2BIG: case ESPIPE: case ENXIO: case EAGAIN: case ENOTTY:
      return;  // A client's ordinary answer, not the daemon's problem.
    default:
      SFS_LOG_EVERY_SEC(kWarning, "%s in SOURCE failed: %s", std::string(what),
                        std::strerror(err));
  }
}

}  // namespace scopedfs
