// INIT and DESTROY: what we ask of the kernel.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"
#include "daemon/log.h"

namespace scopedfs {
namespace {

// libfuse's request buffer beyond max_write (FUSE_BUFFER_HEADER_SIZE).
constexpr size_t kFuseHeaderRoom = 0x1000;

// Whether this process can grow a pipe to hold `bytes`: above
// /proc/sys/fs/pipe-max-size (1 MiB by default) only with CAP_SYS_RESOURCE.
bool PipeCanHold(size_t bytes) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  const int size = fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(bytes));
  close(fds[0]);
  close(fds[1]);
  return size >= 0 && static_cast<size_t>(size) >= bytes;
}

void Init(void* userdata, fuse_conn_info* conn) {
  Server& server = *static_cast<Server*>(userdata);
  // Never the writeback cache: it conflicts with passthrough, and the kernel
  // would then write with the daemon's credentials, not the caller's.
  fuse_unset_feature_flag(conn, FUSE_CAP_WRITEBACK_CACHE);
  // Never symlink caching: the kernel would keep a link's target in its page
  // cache and follow it for every later caller without asking, and whether a
  // caller may follow a link depends on who it is (protected symlinks,
  // AccessMediator::CheckFollow). libfuse leaves it off; it stays off for
  // every policy, since one applied later may have rules. The price: one
  // READLINK per follow of a link through the mount.
  fuse_unset_feature_flag(conn, FUSE_CAP_CACHE_SYMLINKS);
  // Locks stay in the kernel (we implement no getlk/setlk/flock).
  fuse_unset_feature_flag(conn, FUSE_CAP_POSIX_LOCKS);
  fuse_unset_feature_flag(conn, FUSE_CAP_FLOCK_LOCKS);
  // POSIX ACLs: the kernel enforces them (default_permissions) from the
  // backing file's system.posix_acl_* attributes. It then leaves the umask
  // to us: inode-creating calls run with the caller's umask, so the backing
  // file system applies it, or a directory's default ACL instead.
  fuse_set_feature_flag(conn, FUSE_CAP_POSIX_ACL);
  fuse_set_feature_flag(conn, FUSE_CAP_DONT_MASK);
  // Set-id bits: the kernel leaves clearing them to us, and we run the
  // modifying calls as the caller so the backing file system applies its own
  // (current) rules rather than the kernel's older FUSE approximation.
  fuse_set_feature_flag(conn, FUSE_CAP_HANDLE_KILLPRIV_V2);
  // An O_DIRECT open of a redacted view is direct I/O without passthrough;
  // its mmap then uses the view's own page cache (redacted bytes only).
  fuse_set_feature_flag(conn, FUSE_CAP_DIRECT_IO_ALLOW_MMAP);
  // Splice reads (a daemon-served write's data moves from /dev/fuse to the
  // backing file without a copy) need a pipe as large as libfuse's request
  // buffer, max_write and a header: 1 MiB + 4 KiB, just above the default
  // pipe-max-size. Without CAP_SYS_RESOURCE libfuse cannot grow its pipe,
  // and it tries again for every request read from /dev/fuse (pipe2, a
  // failing F_SETPIPE_SZ, pipe-max-size opened and read from /proc, three
  // closes) before it falls back to read(): 7 system calls more per request
  // on /dev/fuse, and per FORGET over io_uring. So only where they can work;
  // otherwise requests are read as libfuse's fallback reads them anyway.
  if (PipeCanHold(conn->max_write + kFuseHeaderRoom)) {
    fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_READ);
  } else {
    fuse_unset_feature_flag(conn, FUSE_CAP_SPLICE_READ);
    SFS_LOG(kInfo, "no splice reads from /dev/fuse: a pipe cannot hold %u "
                   "bytes here (pipe-max-size, no CAP_SYS_RESOURCE)",
            conn->max_write + static_cast<unsigned>(kFuseHeaderRoom));
  }
  fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_WRITE);
  fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_MOVE);
  fuse_set_feature_flag(conn, FUSE_CAP_PARALLEL_DIROPS);
  fuse_set_feature_flag(conn, FUSE_CAP_READDIRPLUS);
  fuse_set_feature_flag(conn, FUSE_CAP_READDIRPLUS_AUTO);
  // The transport (daemon/fuse/transport.h): io_uring when asked for and
  // offered (the kernel offers it only with the fuse module's enable_uring).
  const bool uring_offered = (conn->capable_ext & FUSE_CAP_OVER_IO_URING) != 0;
  if (server.options().io_uring && uring_offered) {
    fuse_set_feature_flag(conn, FUSE_CAP_OVER_IO_URING);
    server.set_io_uring_active(true);
    SFS_LOG(kInfo, "transport: fuse-over-io-uring");
  } else {
    fuse_unset_feature_flag(conn, FUSE_CAP_OVER_IO_URING);
    SFS_LOG(kInfo, "transport: /dev/fuse%s",
            server.options().io_uring ? " (the kernel offered no io_uring)"
                                      : "");
  }

  if (!server.options().passthrough) {
    SFS_LOG(kInfo, "passthrough off (--passthrough=false): the daemon serves "
                   "all reads and writes");
    return;
  }
  if (!fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH)) {
    SFS_LOG(kWarning, "the kernel offers no FUSE passthrough "
                      "(needs Linux >= 6.9 with CONFIG_FUSE_PASSTHROUGH): "
                      "the daemon serves all reads and writes");
    return;
  }
  // Our backing files live on ordinary file systems; depth 1 still lets an
  // overlayfs stack on top of the mount.
  conn->max_backing_stack_depth = 1;
  server.set_passthrough_active(true);
  SFS_LOG(kInfo, "kernel passthrough on");
}

}  // namespace

void AddLifecycleOps(fuse_lowlevel_ops& ops) { ops.init = Init; }

}  // namespace scopedfs
