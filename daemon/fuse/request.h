// Helpers shared by the op families: from a request to our state, from a
// node to a path the kernel resolves for us, and the entry reply.
#ifndef SCOPEDFS_DAEMON_FUSE_REQUEST_H_
#define SCOPEDFS_DAEMON_FUSE_REQUEST_H_

#include <fuse_lowlevel.h>

#include "absl/strings/string_view.h"


#include "daemon/node_table.h"
#include "daemon/proc_fd_path.h"
#include "daemon/server.h"

namespace scopedfs {

// Who sent the request, for the policy.
inline Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Caller{ctx->uid, ctx->gid, static_cast<uint32_t>(ctx->pid)};
}

inline Server& ServerOf(fuse_req_t req) {
  return *static_cast<Server*>(fuse_req_userdata(req));
}

inline Node* NodeOf(fuse_req_t req, fuse_ino_t ino) {
  return ServerOf(req).nodes().Get(ino);
}

// Resolves `name` under `parent` (openat O_PATH|O_NOFOLLOW), adds the lookup
// to the node table and fills `e`. With `mediate`, the policy first decides
// whether the caller may see the name (LOOKUP: HIDE answers ENOENT). The
// entry timeout is 0 where visibility differs between callers, so every path
// walk asks again. Returns 0 or an errno.
// A refusal is audited unless `audit_refusal` is false (readdirplus: a
// listing only counts what it leaves out). `*absent` (if given) is set when
// the answer is ENOENT because the backing directory has no `name` (not
// because the policy hides it).
int LookupChild(fuse_req_t req, Node* parent, const char* name,
                fuse_entry_param* e, bool mediate, bool audit_refusal = true,
                bool* absent = nullptr);

// Fills `attr` from the node's backing inode. Returns 0 or an errno.
int StatNode(const Node* node, struct stat* attr);

// Whether `node` (its file's status `st`) is one of several nodes of a
// file with several names (NodeTable). The kernel caches each node's
// attributes and pages apart, so a change through one name must not be
// hidden behind another name's cache: such nodes get no attribute caching.
// Their size, times and st_nlink are then always the backing file's, and
// the kernel, which asks for them before every open (default_permissions)
// and read (auto_inval_data), drops its pages of the node when they moved.
inline bool HasSeveralNames(const Node* node, const struct stat& st) {
  return node->per_name || (!S_ISDIR(st.st_mode) && st.st_nlink > 1);
}

// The attribute timeout of a reply about `node` with status `st`.
double AttrTimeout(fuse_req_t req, const Node* node, const struct stat& st);

// Records the caller as the owner of `name` under `parent`, which it just
// made. Before the entry is looked up: the view a lookup picks may depend
// on who owns the file.
void NoteNewName(fuse_req_t req, Node* parent, const char* name);

// Replies with the entry of `name` under `parent` after a call that made it
// (mknod, mkdir, symlink), or with the errno. Records the owner first.
void ReplyNewEntry(fuse_req_t req, Node* parent, const char* name);
// The same without an owner record (link: the name gets the source's).
void ReplyEntry(fuse_req_t req, Node* parent, const char* name);

// "file", "directory", "symbolic link" or "special file", for log lines.
const char* KindOf(mode_t type);

// Logs an error of SOURCE's file system that is not a client's ordinary
// answer (those, EFBIG included, are the client's business, as on the
// native file system; a full SOURCE is still logged). `what` names the
// operation and its object ("setattr of a file").
void NoteBackingError(absl::string_view what, int err);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_REQUEST_H_
