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

#include <memory>

#include "daemon/caller_creds.h"
#include "daemon/fuse/file_handle.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"
#include "daemon/passthrough.h"

namespace scopedfs {
namespace {

// Flags for the daemon's own descriptor of an open file. O_DIRECT is dropped:
// the daemon's reads go through the backing page cache, which is coherent with
// the passthrough opens of the same inode. O_NOFOLLOW would refuse the
// /proc/self/fd magic link; the node is already the file itself.
int BackingOpenFlags(int client_flags) {
  return (client_flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT |
                           O_NOFOLLOW)) |
         O_CLOEXEC;
}

// Decides how the kernel serves the open and fills `fi`; keeps `handle`.
void SetOpenMode(fuse_req_t req, Node* node, fuse_file_info* fi,
                 std::unique_ptr<FileHandle> handle) {
  Server& server = ServerOf(req);
  const bool direct = (fi->flags & O_DIRECT) != 0;
  fi->parallel_direct_writes = 1;
  // FLUSH only reports deferred write errors (locks stay in the kernel), and
  // a read-only open has none: spare the round trip on its close().
  fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
  int backing_id = 0;
  if (server.passthrough_active()) {
    backing_id = AcquireBackingId(req, node, handle->fd, server.stats());
  }
  if (backing_id > 0) {
    handle->holds_backing = true;
    fi->backing_id = backing_id;
    fi->keep_cache = 0;  // The kernel rejects KEEP_CACHE with passthrough.
    fi->direct_io = direct;
    Stats::Add(direct ? server.stats().opens_direct_passthrough
                      : server.stats().opens_passthrough);
  } else {
    fi->direct_io = direct;
    // Without passthrough the daemon answers from the backing file; the
    // kernel revalidates cached pages when size or mtime change.
    fi->keep_cache = !direct;
    Stats::Add(server.stats().opens_cached);
  }
  fi->fh = reinterpret_cast<uintptr_t>(handle.release());
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Node* node = NodeOf(req, ino);
  // The kernel already checked the caller's access (default_permissions).
  const int fd = open(ProcFdPath(node->fd).c_str(), BackingOpenFlags(fi->flags));
  if (fd < 0) {
    const int err = errno;
    NoteBackingError("open", err);
    fuse_reply_err(req, err);
    return;
  }
  auto handle = std::make_unique<FileHandle>();
  handle->fd = fd;
  SetOpenMode(req, node, fi, std::move(handle));
  if (fuse_reply_open(req, fi) != 0) {
    // The kernel will never release a handle it did not get.
    FileHandle* h = &HandleOf(fi);
    if (h->holds_backing) ReleaseBackingId(req, node, ServerOf(req).stats());
    close(h->fd);
    delete h;
  }
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
            fuse_file_info* fi) {
  Node* dir = NodeOf(req, parent);
  int fd;
  {
    ScopedCallerCreds as_caller(req, /*with_groups=*/true);
    if (as_caller.error() != 0) {
      fuse_reply_err(req, as_caller.error());
      return;
    }
    fd = openat(dir->fd, name, BackingOpenFlags(fi->flags) | O_CREAT, mode);
  }
  if (fd < 0) {
    const int err = errno;
    NoteBackingError("create", err);
    fuse_reply_err(req, err);
    return;
  }
  fuse_entry_param e;
  if (int err = LookupChild(req, dir, name, &e); err != 0) {
    close(fd);
    fuse_reply_err(req, err);
    return;
  }
  Node* node = NodeOf(req, e.ino);
  auto handle = std::make_unique<FileHandle>();
  handle->fd = fd;
  SetOpenMode(req, node, fi, std::move(handle));
  if (fuse_reply_create(req, &e, fi) != 0) {
    FileHandle* h = &HandleOf(fi);
    if (h->holds_backing) ReleaseBackingId(req, node, ServerOf(req).stats());
    close(h->fd);
    delete h;
    ServerOf(req).nodes().Forget(node, 1);
  }
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
          fuse_file_info* fi) {
  Stats& stats = ServerOf(req).stats();
  Stats::Add(stats.read_requests);
  fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags =
      static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  buf.buf[0].fd = HandleOf(fi).fd;
  buf.buf[0].pos = off;
  // Splices straight from the backing file into /dev/fuse where possible.
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
  Stats::Add(stats.read_bytes, size);
}

void WriteBuf(fuse_req_t req, fuse_ino_t, fuse_bufvec* in, off_t off,
              fuse_file_info* fi) {
  Stats& stats = ServerOf(req).stats();
  Stats::Add(stats.write_requests);
  fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags =
      static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  out.buf[0].fd = HandleOf(fi).fd;
  out.buf[0].pos = off;
  const ssize_t n = fuse_buf_copy(&out, in, FUSE_BUF_SPLICE_NONBLOCK);
  if (n < 0) {
    NoteBackingError("write", static_cast<int>(-n));
    fuse_reply_err(req, static_cast<int>(-n));
    return;
  }
  Stats::Add(stats.write_bytes, n);
  fuse_reply_write(req, n);
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  // close(dup()) reports deferred write errors of the backing file system
  // (NFS and the like) to the client's close(), as a native close would.
  const int dup_fd = dup(HandleOf(fi).fd);
  const int res = dup_fd < 0 ? -1 : close(dup_fd);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::unique_ptr<FileHandle> handle(&HandleOf(fi));
  if (handle->holds_backing) {
    ReleaseBackingId(req, NodeOf(req, ino), ServerOf(req).stats());
  }
  close(handle->fd);
  fuse_reply_err(req, 0);
}

void Fsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  const int fd = HandleOf(fi).fd;
  const int res = datasync ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void Fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset,
               off_t length, fuse_file_info* fi) {
  const int res = fallocate(HandleOf(fi).fd, mode, offset, length);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

void CopyFileRange(fuse_req_t req, fuse_ino_t, off_t off_in,
                   fuse_file_info* fi_in, fuse_ino_t, off_t off_out,
                   fuse_file_info* fi_out, size_t len, int flags) {
  loff_t in = off_in;
  loff_t out = off_out;
  const ssize_t n = copy_file_range(HandleOf(fi_in).fd, &in,
                                    HandleOf(fi_out).fd, &out, len, flags);
  if (n < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fuse_reply_write(req, n);
}

void Lseek(fuse_req_t req, fuse_ino_t, off_t off, int whence,
           fuse_file_info* fi) {
  const off_t res = lseek(HandleOf(fi).fd, off, whence);
  if (res < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fuse_reply_lseek(req, res);
}

}  // namespace

void AddFileOps(fuse_lowlevel_ops& ops) {
  ops.open = Open;
  ops.create = Create;
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
