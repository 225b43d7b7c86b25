// How FUSE requests travel between the kernel and the daemon.
//
// /dev/fuse: each worker thread reads a request from the device and writes
// the reply back (two system calls and two context switches per request).
// fuse-over-io-uring (Linux 6.14, CONFIG_FUSE_IO_URING, libfuse 3.18): the
// daemon hands the kernel per-CPU rings of request buffers; a request and
// its reply are one ring completion and one submission, on the CPU the
// client runs on. The kernel offers it only while the `fuse` module's
// parameter enable_uring is Y (N by default); the daemon, running as root,
// sets it when asked to use io_uring (PrepareTransport), and says which
// transport the kernel granted in INIT.
#ifndef SCOPEDFS_DAEMON_FUSE_TRANSPORT_H_
#define SCOPEDFS_DAEMON_FUSE_TRANSPORT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scopedfs {

enum class Transport {
  kAuto,  // io_uring where the kernel has it, else /dev/fuse.
  kUring,  // io_uring, or refuse to start.
  kDev,   // /dev/fuse only.
};

// "auto", "uring" or "dev"; InvalidArgument otherwise.
absl::StatusOr<Transport> ParseTransport(absl::string_view name);

// Before mounting: whether to ask libfuse for io_uring. For kAuto and
// kUring, makes sure the fuse module lets the kernel offer it (writes Y to
// `enable_uring_param`, normally /sys/module/fuse/parameters/enable_uring,
// if it reads N; logged). kAuto answers false where that is impossible (no
// such parameter: a kernel without CONFIG_FUSE_IO_URING; not writable);
// kUring answers FailedPrecondition with what to fix.
absl::StatusOr<bool> PrepareTransport(
    Transport transport,
    absl::string_view enable_uring_param =
        "/sys/module/fuse/parameters/enable_uring");

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FUSE_TRANSPORT_H_
