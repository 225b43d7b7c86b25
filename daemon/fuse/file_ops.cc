// Open files. With kernel passthrough (the normal case) read, write, splice
// and mmap never reach the daemon: open registers the inode's backing id and
// replies FOPEN_PASSTHROUGH. O_DIRECT opens are the daemon's to see: they get
// FOPEN_DIRECT_IO|FOPEN_PASSTHROUGH with the same backing id, so read/write
// come here while mmap still goes to the backing file. Without passthrough the
// daemon serves read/write itself, spliced where the kernel allows.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "base/retry_eintr.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/caller_creds.h"
#include "daemon/fuse/file_handle.h"
#include "daemon/access.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"
#include "daemon/log.h"
#include "daemon/passthrough.h"

namespace scopedfs {
namespace {

// Times an OPEN or CREATE request, reply included, into the open latency
// histogram (how audit and policy costs show up to clients).
class OpenTimer {
 public:
  explicit OpenTimer(fuse_req_t req)
      : stats_(ServerOf(req).stats()), start_(MonotonicNanos()) {}
  ~OpenTimer() { stats_.open_latency.Record(MonotonicNanos() - start_); }

 private:
  Stats& stats_;
  const uint64_t start_;
};

// Flags for the daemon's own descriptor of an open file. O_DIRECT is dropped:
// the daemon's reads go through the backing page cache, which is coherent with
// the passthrough opens of the same inode. O_NOFOLLOW would refuse the
// /proc/self/fd magic link; the node is already the file itself.
int BackingOpenFlags(int client_flags) {
  return (client_flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT |
                           O_NOFOLLOW)) |
         O_CLOEXEC;
}

// Serves an open of a redacted view through passthrough over a reflinked
// copy (daemon/reflinked_views.h; `st`: the real file now): 0 with
// handle->copy and *backing_id set; EAGAIN when the daemon serves it
// instead (no passthrough, no reflink here, copies all in use, the node has
// daemon-served opens); ESTALE when the node is bound to another copy (the
// node is retired: the kernel looks the name up again); another errno
// refuses the open (the copy's bytes could not be vouched for).
int OpenViewOverCopy(fuse_req_t req, Node* node, const struct stat& st,
                     FileHandle* handle, int* backing_id) {
  Server& server = ServerOf(req);
  if (!server.passthrough_active()) return EAGAIN;
  std::shared_ptr<const ViewCopy> copy = BackingCopyOf(node);
  if (copy != nullptr && !copy->Matches(st, handle->redacted->profile())) {
    // Another version or profile: the node cannot take this one.
    server.RenewRedactedView(node);
    return ESTALE;
  }
  if (copy == nullptr) {
    absl::StatusOr<std::shared_ptr<const ViewCopy>> made =
        server.copies().CopyOf(handle->fd, *handle->redacted);
    if (absl::IsUnavailable(made.status())) return EAGAIN;
    if (!made.ok()) {
      SFS_LOG_EVERY_SEC(kWarning, "refusing a redacted open: its copy: %s",
                        made.status().ToString());
      Stats::Add(server.stats().redacted_opens_refused);
      return EIO;
    }
    copy = *std::move(made);
  }
  const int err = AcquireCopyBacking(req, node, copy, server.stats(), backing_id);
  if (err == ESTALE) server.RenewRedactedView(node);
  if (err == 0) handle->copy = std::move(copy);
  return err;
}

// Decides how the kernel serves the open and fills `fi`; keeps `handle`.
// Returns 0 or an errno (the handle is then closed).
int SetOpenMode(fuse_req_t req, Node* node, fuse_file_info* fi,
                std::unique_ptr<FileHandle> handle) {
  Server& server = ServerOf(req);
  struct stat st;
  if (fstat(handle->fd, &st) != 0) {
    const int err = errno;
    close(handle->fd);
    return err;
  }
  const bool direct = (fi->flags & O_DIRECT) != 0;
  fi->parallel_direct_writes = 1;
  // FLUSH only reports deferred write errors (locks stay in the kernel), and
  // a read-only open has none: spare the round trip on its close().
  fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
  int backing_id = 0;
  handle->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
  if (handle->redacted != nullptr) {
    // The view is its own inode, and the real file is never its backing.
    // Where SOURCE can reflink, the kernel serves it over a zeroed copy.
    if (int err = OpenViewOverCopy(req, node, st, handle.get(), &backing_id);
        err != EAGAIN) {
      if (err != 0) {
        close(handle->fd);
        return err;
      }
      handle->mode = OpenMode::kPassthrough;
      fi->backing_id = backing_id;
      fi->direct_io = direct;
      fi->keep_cache = 0;
      Stats::Add(server.stats().redacted_copy_opens);
      fi->fh = server.handles().Adopt(std::move(handle));
      return 0;
    }
    // Otherwise its page cache (reads, readahead, mmap) is filled only by
    // the daemon's reads, which zero the planned ranges. Cached across
    // opens like any file; a policy change drops it
    // (Server::InvalidateAfterPolicyChange) and so does a change of the
    // real file through the mount (Server::NoteFileChanged).
    handle->mode = AcquireOpenMode(req, node, handle->fd, st, handle->writable,
                                   /*passthrough_active=*/false,
                                   server.stats(), &backing_id);
    fi->direct_io = direct;
    fi->keep_cache = !direct;
    Stats::Add(server.stats().opens_cached);
    fi->fh = server.handles().Adopt(std::move(handle));
    return 0;
  }
  handle->mode = AcquireOpenMode(req, node, handle->fd, st, handle->writable,
                                 server.passthrough_active(), server.stats(),
                                 &backing_id);
  // Before the client can write: redacted readers of this file must know a
  // write may be in progress (daemon/redacted_view.h).
  if (handle->writable) server.access().open_writers().Opened(node->dev, node->ino);
  fi->direct_io = direct;
  if (handle->mode == OpenMode::kPassthrough) {
    fi->backing_id = backing_id;
    fi->keep_cache = 0;  // The kernel rejects KEEP_CACHE with passthrough.
    Stats::Add(direct ? server.stats().opens_direct_passthrough
                      : server.stats().opens_passthrough);
  } else {
    // The daemon answers from the backing file; the kernel revalidates
    // cached pages when size or mtime change. A file with several names
    // has a node, and so a page cache, per name: its attributes are never
    // cached (AttrTimeout), so every open (the kernel's permission check)
    // and every read asks for them and drops pages a write through another
    // name made stale; pages already mapped are dropped by
    // Server::NoteFileChanged. Under -o strictatime each open starts with
    // no cached pages, so its reads reach SOURCE and stamp the access time.
    fi->keep_cache = !direct && !server.options().stamp_every_access;
    Stats::Add(server.stats().opens_cached);
  }
  fi->fh = server.handles().Adopt(std::move(handle));
  return 0;
}

// Fills in who holds `h` and what it was decided as (OpenVerdict, or the
// create's caller for a new file): what `scopedctl handles` shows and what
// a policy change is checked against. `generation`: the engine that
// decided (0: check at the first read or write).
void SetHandleOwner(fuse_req_t req, Node* node, const fuse_file_info* fi,
                    const Caller& acting, std::string app, v1::Operation op,
                    std::string view_profile, uint64_t generation,
                    FileHandle* h) {
  static std::atomic<uint64_t> next_id{1};
  h->owner.id = next_id.fetch_add(1, std::memory_order_relaxed);
  h->owner.uid = acting.uid;
  h->owner.gid = acting.gid;
  h->owner.pid = CallerOf(req).pid;
  h->owner.app = std::move(app);
  h->owner.node_id = ServerOf(req).nodes().IdOf(node);
  h->owner.op = op;
  h->owner.view_profile = std::move(view_profile);
  h->owner.opened_unix_nanos = absl::ToUnixNanos(absl::Now());
  h->owner.direct_io = (fi->flags & O_DIRECT) != 0;
  h->checked_generation.store(generation, std::memory_order_relaxed);
}

// Whether the access `h` was opened with still stands (a policy or grant
// change may have removed it): 0, or EACCES for every daemon-served read
// and write from the first one after the change on. Checked once per
// generation; passthrough I/O never gets here (not revocable).
int StillAllowed(fuse_req_t req, fuse_ino_t ino, FileHandle& h) {
  if (h.revoked.load(std::memory_order_acquire)) return EACCES;
  Server& server = ServerOf(req);
  const uint64_t generation = server.policy().generation();
  if (h.checked_generation.load(std::memory_order_relaxed) == generation) {
    return 0;
  }
  const Caller caller{h.owner.uid, h.owner.gid, h.owner.pid};
  if (server.access().RecheckHandle(
          caller, NodeOf(req, ino), h.owner.op,
          h.redacted != nullptr || h.copy != nullptr ? &h.owner.view_profile
                                                     : nullptr) == 0) {
    h.checked_generation.store(generation, std::memory_order_relaxed);
    return 0;
  }
  if (!h.revoked.exchange(true)) Stats::Add(server.stats().handles_revoked);
  return EACCES;
}

// Undoes an open whose reply the kernel did not take.
void AbandonOpen(fuse_req_t req, Node* node, fuse_file_info* fi) {
  std::unique_ptr<FileHandle> h = ServerOf(req).handles().Take(fi->fh);
  if (h->writable) ServerOf(req).access().open_writers().Closed(node->dev, node->ino);
  ReleaseOpenMode(req, node, h->mode, h->writable, ServerOf(req).stats());
  close(h->fd);
}

// Runs `op` on the backing file as the caller when the file is set-user or
// set-group-ID, so the backing file system clears those bits as it would for
// this caller; as the daemon otherwise (nothing to clear: no identity switch
// on the data path).
template <typename Op>
auto AsCallerIfSetid(fuse_req_t req, int fd, Op op) -> decltype(op()) {
  struct stat st;
  return CallAsCallerIf(
      req, fstat(fd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) != 0, op);
}

// What an open asks of the policy: WRITE if it can change the file.
v1::Operation OpenOperation(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ? v1::WRITE
                                                             : v1::READ;
}

// Whether `node` is a redacted view bound to a copy of another version of
// its file than the one it has now: its next open cannot be served
// (OpenViewOverCopy), so the node is retired before the policy is asked.
bool BoundToOlderCopy(fuse_req_t req, Node* node) {
  struct stat st;
  if (!node->redacted_view || fstat(node->fd, &st) != 0 ||
      !BoundToOtherVersion(node, st)) {
    return false;
  }
  ServerOf(req).RenewRedactedView(node);
  return true;
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  OpenTimer timer(req);
  Node* node = NodeOf(req, ino);
  // ESTALE is no answer the client sees: the kernel looks the name up again
  // (into a new node) and retries, and that open is the one audited.
  if (BoundToOlderCopy(req, node)) {
    fuse_reply_err(req, ESTALE);
    return;
  }
  // The policy decides here: this is where an open is allowed or refused,
  // and whether it sees the real file or its redacted view.
  AccessMediator::OpenVerdict verdict = ServerOf(req).access().CheckOpen(
      CallerOf(req), node, OpenOperation(fi->flags), fi->flags);
  if (verdict.err != 0) {
    fuse_reply_err(req, verdict.err);
    return;
  }
  // The kernel already checked the caller's access (default_permissions).
  // A truncating open runs as the caller, so the backing file system clears
  // set-id bits as it would for this caller. A redacted view comes with the
  // descriptor its plan was made on.
  const int fd = verdict.view != nullptr
                     ? verdict.fd
                     : CallAsCallerIf(req, (fi->flags & O_TRUNC) != 0, [&] {
                         return open(ProcFdPath(node->fd).c_str(),
                                     BackingOpenFlags(fi->flags));
                       });
  if (fd < 0) {
    const int err = errno;
    NoteBackingError("open of a file", err);
    fuse_reply_err(req, err);
    return;
  }
  auto handle = std::make_unique<FileHandle>();
  handle->fd = fd;
  handle->redacted = std::move(verdict.view);
  SetHandleOwner(req, node, fi, verdict.acting, std::move(verdict.app),
                 OpenOperation(fi->flags), std::move(verdict.profile),
                 verdict.generation, handle.get());
  if (int err = SetOpenMode(req, node, fi, std::move(handle)); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  // The kernel will never release a handle it did not get.
  if (fuse_reply_open(req, fi) != 0) AbandonOpen(req, node, fi);
}

// Replies to CREATE or TMPFILE: the new entry `e` (its node `node`, holding
// the lookup the reply hands over) and the open of `fd`. Undoes both if the
// open cannot be served or the kernel does not take the reply.
void ReplyCreated(fuse_req_t req, Node* node, const fuse_entry_param& e, int fd,
                  fuse_file_info* fi) {
  auto handle = std::make_unique<FileHandle>();
  handle->fd = fd;
  const Caller acting = ServerOf(req).access().ActingCaller(CallerOf(req), node);
  const std::string* app =
      ServerOf(req).policy().engine()->AppOf(acting.uid, acting.gid);
  SetHandleOwner(req, node, fi, acting, app != nullptr ? *app : std::string(),
                 v1::CREATE, {}, /*generation=*/0, handle.get());
  if (int err = SetOpenMode(req, node, fi, std::move(handle)); err != 0) {
    ServerOf(req).nodes().Forget(node, 1);
    fuse_reply_err(req, err);
    return;
  }
  if (fuse_reply_create(req, &e, fi) != 0) {
    AbandonOpen(req, node, fi);
    ServerOf(req).nodes().Forget(node, 1);
  }
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  OpenTimer timer(req);
  Node* dir = NodeOf(req, parent);
  AccessMediator& access = ServerOf(req).access();
  if (int denied = access.CheckName(CallerOf(req), dir, name, v1::CREATE,
                                    false, AuditMode::kAlways, fi->flags);
      denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  // The kernel sends CREATE when the name looked absent, which it also does
  // for a name hidden from the caller: opening that existing file would
  // hand over what the policy hides.
  struct stat existing;
  const bool existed =
      fstatat(dir->fd, name, &existing, AT_SYMLINK_NOFOLLOW) == 0;
  if (existed && !(fi->flags & O_EXCL) &&
      access.CheckName(CallerOf(req), dir, name, v1::LOOKUP,
                       S_ISDIR(existing.st_mode), AuditMode::kIfRefused, 0,
                       &existing) == ENOENT) {
    fuse_reply_err(req, EACCES);
    return;
  }
  int fd;
  {
    ScopedCallerCreds as_caller(req, /*with_groups=*/true, /*with_umask=*/true);
    if (as_caller.error() != 0) {
      fuse_reply_err(req, as_caller.error());
      return;
    }
    fd = openat(dir->fd, name, BackingOpenFlags(fi->flags) | O_CREAT, mode);
  }
  if (fd < 0) {
    const int err = errno;
    NoteBackingError("create of a file", err);
    fuse_reply_err(req, err);
    return;
  }
  // Only a name this call made gets an owner (O_CREAT on a file that
  // existed opens it).
  if (!existed) NoteNewName(req, dir, name);
  fuse_entry_param e;
  if (int err = LookupChild(req, dir, name, &e, /*mediate=*/false); err != 0) {
    close(fd);
    fuse_reply_err(req, err);
    return;
  }
  ReplyCreated(req, NodeOf(req, e.ino), e, fd, fi);
}

// A read of a redacted view: the file's bytes with the ranges of the
// version read zeroed (RedactedView), never spliced: the version must be
// checked after the bytes are in our hands.
void ReadRedacted(fuse_req_t req, const FileHandle& h, size_t size, off_t off) {
  std::unique_ptr<char[]> storage(new char[size]);
  const ssize_t n = h.redacted->Read(h.fd, storage.get(), size, off);
  if (n < 0) {
    // EIO: the file could not be vouched for (RedactedView logged why).
    if (n != -EIO) NoteBackingError("read of a redacted file", static_cast<int>(-n));
    fuse_reply_err(req, static_cast<int>(-n));
    return;
  }
  Stats::Add(ServerOf(req).stats().redacted_reads);
  fuse_reply_buf(req, storage.get(), n);
}

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          fuse_file_info* fi) {
  Stats& stats = ServerOf(req).stats();
  Stats::Add(stats.read_requests);
  FileHandle& h = HandleOf(fi);
  if (int err = StillAllowed(req, ino, h); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  if (h.redacted != nullptr && h.copy == nullptr) {
    ReadRedacted(req, h, size, off);
    Stats::Add(stats.read_bytes, size);
    return;
  }
  fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags =
      static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  // A view over a copy (an O_DIRECT open of it) reads the zeroed copy.
  buf.buf[0].fd = h.content_fd();
  buf.buf[0].pos = off;
  // Splices straight from the backing file into /dev/fuse where possible.
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
  Stats::Add(stats.read_bytes, size);
}

void WriteBuf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off,
              fuse_file_info* fi) {
  Stats& stats = ServerOf(req).stats();
  Stats::Add(stats.write_requests);
  if (int err = StillAllowed(req, ino, HandleOf(fi)); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags =
      static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  out.buf[0].fd = HandleOf(fi).fd;
  out.buf[0].pos = off;
  const ssize_t n = AsCallerIfSetid(req, out.buf[0].fd, [&] {
    return fuse_buf_copy(&out, in, FUSE_BUF_SPLICE_NONBLOCK);
  });
  if (n < 0) {
    NoteBackingError("write to a file", static_cast<int>(-n));
    fuse_reply_err(req, static_cast<int>(-n));
    return;
  }
  Stats::Add(stats.write_bytes, n);
  ServerOf(req).NoteFileChanged(NodeOf(req, ino));
  fuse_reply_write(req, n);  // Frees `req`: nothing of it after this.
}

void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (HandleOf(fi).writable) ServerOf(req).NoteFileChanged(NodeOf(req, ino));
  // close(dup()) reports deferred write errors of the backing file system
  // (NFS and the like) to the client's close(), as a native close would.
  const int dup_fd = dup(HandleOf(fi).fd);
  const int res = dup_fd < 0 ? -1 : close(dup_fd);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::unique_ptr<FileHandle> handle = ServerOf(req).handles().Take(fi->fh);
  // Passthrough writes never reach the daemon: this is the latest moment it
  // learns of them (reads of the view check the version anyway).
  if (handle->writable) {
    Node* node = NodeOf(req, ino);
    ServerOf(req).NoteFileChanged(node);
    ServerOf(req).access().open_writers().Closed(node->dev, node->ino);
  }
  ReleaseOpenMode(req, NodeOf(req, ino), handle->mode, handle->writable,
                  ServerOf(req).stats());
  close(handle->fd);
  fuse_reply_err(req, 0);
}

void Fsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  const int fd = HandleOf(fi).fd;
  const int res = datasync ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void Fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
               off_t length, fuse_file_info* fi) {
  if (int err = StillAllowed(req, ino, HandleOf(fi)); err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  const int fd = HandleOf(fi).fd;
  const int res = AsCallerIfSetid(
      req, fd, [&] { return fallocate(fd, mode, offset, length); });
  if (res == 0) ServerOf(req).NoteFileChanged(NodeOf(req, ino));
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void CopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                   fuse_file_info* fi_in, fuse_ino_t ino_out, off_t off_out,
                   fuse_file_info* fi_out, size_t len, int flags) {
  for (auto [ino, fi] : {std::pair(ino_in, fi_in), std::pair(ino_out, fi_out)}) {
    if (int err = StillAllowed(req, ino, HandleOf(fi)); err != 0) {
      fuse_reply_err(req, err);
      return;
    }
  }
  if (const FileHandle& in_h = HandleOf(fi_in);
      in_h.redacted != nullptr && in_h.copy == nullptr) {
    // A copy in the backing file system would copy the real bytes: copy
    // the redacted ones through a buffer instead.
    std::string buf(std::min<size_t>(len, 1 << 20), '\0');
    const ssize_t n = in_h.redacted->Read(in_h.fd, buf.data(), buf.size(),
                                          off_in);
    if (n < 0) {
      fuse_reply_err(req, static_cast<int>(-n));
      return;
    }
    const int out_fd = HandleOf(fi_out).fd;
    const ssize_t w = AsCallerIfSetid(req, out_fd, [&] {
      return RetryEintr([&] { return pwrite(out_fd, buf.data(), n, off_out); });
    });
    if (w < 0) {
      fuse_reply_err(req, errno);
      return;
    }
    ServerOf(req).NoteFileChanged(NodeOf(req, ino_out));
    fuse_reply_write(req, w);
    return;
  }
  loff_t in = off_in;
  loff_t out = off_out;
  const int out_fd = HandleOf(fi_out).fd;
  const ssize_t n = AsCallerIfSetid(req, out_fd, [&] {
    return RetryEintr([&] {
      return copy_file_range(HandleOf(fi_in).content_fd(), &in, out_fd, &out,
                             len, flags);
    });
  });
  if (n < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  ServerOf(req).NoteFileChanged(NodeOf(req, ino_out));
  fuse_reply_write(req, n);
}

void Lseek(fuse_req_t req, fuse_ino_t, off_t off, int whence,
           fuse_file_info* fi) {
  const off_t res = lseek(HandleOf(fi).content_fd(), off, whence);
  if (res < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fuse_reply_lseek(req, res);
}

// O_TMPFILE: an unnamed file in the directory, made as the caller (so the
// backing file system gives it the caller's owner, group and umask, as
// natively). Until linkat() gives it a name (Link: then decided and
// recorded as a create of that name) the policy sees it as a regular file
// named kUnnamedFile in the directory: created, looked at and opened by
// that path. It has no owner record until then.
constexpr char kUnnamedFile[] = ".O_TMPFILE";
void Tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode,
             fuse_file_info* fi) {
  OpenTimer timer(req);
  Node* dir = NodeOf(req, parent);
  AccessMediator& access = ServerOf(req).access();
  if (int denied = access.CheckCreate(CallerOf(req), dir, kUnnamedFile, S_IFREG,
                                      AuditMode::kAlways, fi->flags);
      denied != 0) {
    fuse_reply_err(req, denied);
    return;
  }
  // O_EXCL stays: it makes the file unlinkable, as the client asked.
  const int flags = (BackingOpenFlags(fi->flags) & ~O_TMPFILE) |
                    (fi->flags & O_EXCL) | O_TMPFILE;
  int fd;
  {
    ScopedCallerCreds as_caller(req, /*with_groups=*/true, /*with_umask=*/true);
    if (as_caller.error() != 0) {
      fuse_reply_err(req, as_caller.error());
      return;
    }
    fd = openat(dir->fd, ".", flags, mode);
  }
  if (fd < 0) {
    const int err = errno;
    NoteBackingError("create of an unnamed file", err);
    fuse_reply_err(req, err);
    return;
  }
  fuse_entry_param e = {};
  const int path_fd = open(ProcFdPath(fd).c_str(), O_PATH | O_CLOEXEC);
  if (path_fd < 0 || fstat(path_fd, &e.attr) != 0) {
    const int err = errno;
    if (path_fd >= 0) close(path_fd);
    close(fd);
    fuse_reply_err(req, err);
    return;
  }
  Node* node = ServerOf(req).nodes().Acquire(path_fd, e.attr, dir, kUnnamedFile);
  e.ino = ServerOf(req).nodes().IdOf(node);
  e.attr_timeout = AttrTimeout(req, node, e.attr);
  e.entry_timeout = 0;  // No name to keep.
  ReplyCreated(req, node, e, fd, fi);
}

}  // namespace

void AddFileOps(fuse_lowlevel_ops& ops) {
  ops.open = Open;
  ops.create = Create;
  ops.tmpfile = Tmpfile;
  ops.read = Read;
  ops.write_buf = WriteBuf;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.fallocate = Fallocate;
  ops.copy_file_range = CopyFileRange;
  ops.lseek = Lseek;
}

}  // namespace scopedfs
