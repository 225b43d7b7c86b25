// Acting as the FUSE caller.
//
// Permission checks are the kernel's: the mount always uses
// `default_permissions`, so the VFS checks every access (open modes, search
// permission, sticky directories, protected hard links, chmod/chown/utimes
// rules, setgid stripping) against the caller's real credentials, including
// supplementary groups, before a request reaches us.
//
// What the kernel cannot do for us is make new inodes belong to the caller.
// So every operation that creates an inode (create, mknod, mkdir, symlink)
// runs with the caller's fsuid, fsgid and supplementary groups for the thread
// that serves it; the backing file system then applies its own rules (owner,
// group, setgid directory inheritance, S_ISGID stripping) exactly as for a
// native call. Passthrough backing files are registered under the caller's
// fsuid/fsgid too, so the kernel's passthrough I/O runs without root's
// CAP_FSETID and a write by a non-owner clears set-user-ID as it should.
//
// Linux keeps fsuid, fsgid and the group list per thread at the syscall level;
// glibc's setgroups() would broadcast to every thread, so raw syscalls are used.
// The umask is per process; a worker thread that needs the caller's umask
// first unshares its fs_struct (CLONE_FS), once, so its umask is its own.
//
// Operations that modify existing files (truncation, chown, chmod, utimes,
// O_TRUNC opens, and writes, fallocate and copy_file_range on set-id files)
// also run as the caller: the backing file system then clears set-user-ID
// and set-group-ID bits by its own rules for that caller (the mount asks
// the kernel for FUSE_HANDLE_KILLPRIV_V2 and leaves this to us).
#ifndef SCOPEDFS_DAEMON_CALLER_CREDS_H_
#define SCOPEDFS_DAEMON_CALLER_CREDS_H_

#include <errno.h>
#include <sys/types.h>

#include <vector>

struct fuse_req;

namespace scopedfs {

struct CallerIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  std::vector<gid_t> groups;  // Supplementary groups; empty when not fetched.
};

// Reads the caller's uid, gid and pid from the request; with `with_groups`,
// also its supplementary groups (from /proc, via libfuse).
CallerIdentity IdentityOf(fuse_req* req, bool with_groups);

class ScopedCallerCreds {
 public:
  // Switches this thread to the caller. A root caller needs no switch.
  // With `with_umask`, the thread also takes the caller's umask (for the
  // inode-creating calls: the backing file system then applies it, or a
  // default ACL instead, exactly as for a native call).
  ScopedCallerCreds(fuse_req* req, bool with_groups, bool with_umask = false);
  explicit ScopedCallerCreds(const CallerIdentity& who);
  ~ScopedCallerCreds();
  ScopedCallerCreds(const ScopedCallerCreds&) = delete;
  ScopedCallerCreds& operator=(const ScopedCallerCreds&) = delete;

  // 0, or the errno of a failed switch (the operation must then fail).
  int error() const { return error_; }

 private:
  void Switch(const CallerIdentity& who);
  std::vector<gid_t> saved_groups_;  // The daemon thread's own groups.
  bool switched_ = false;
  bool groups_switched_ = false;
  bool umask_switched_ = false;
  int error_ = 0;
};

// Runs `call` (a syscall-style callable: -1 and errno on failure) as the
// caller (fsuid, fsgid, groups) when `as_caller`, else as the daemon. A
// failed identity switch fails the call with its errno.
template <typename Call>
auto CallAsCallerIf(fuse_req* req, bool as_caller, Call call) -> decltype(call()) {
  if (!as_caller) return call();
  ScopedCallerCreds creds(req, /*with_groups=*/true);
  if (creds.error() != 0) {
    errno = creds.error();
    return -1;
  }
  return call();
}

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_CALLER_CREDS_H_
