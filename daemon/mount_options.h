// scopedfsd's -o options, checked before libfuse sees them: libfuse reports
// an option it does not know as "fuse: unknown option(s): ..." after the
// daemon has already opened its state, followed by our own error, where
// scopedfsd promises one "scopedfsd: error: ..." line and exit 2.
#ifndef SCOPEDFS_DAEMON_MOUNT_OPTIONS_H_
#define SCOPEDFS_DAEMON_MOUNT_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace scopedfs {

// "ro,fsname=a\,b" as {"ro", "fsname=a\,b"}: split at the commas libfuse
// splits at (not those escaped with a backslash; escapes are kept, since
// libfuse reads the options joined again). Empty options are dropped.
std::vector<std::string> SplitMountOptions(absl::string_view value);

// Checks one option against what libfuse 3.18 takes (lib/fuse_lowlevel.c
// fuse_ll_opts and lib/mount.c fuse_mount_opts, "x-*" passed on for mount
// helpers), and refuses those it takes that the daemon cannot honour:
// allow_root (the mount must serve every uid), blkdev and blksize (SOURCE is
// a directory), max_read (libfuse would end the session at INIT).
// InvalidArgument saying why, without the option itself:
//   unknown mount option (libfuse takes fsname=, subtype=, ro, ...)
//   noatime takes no value
//   fsname needs a value (fsname=...)
//   not supported: scopedfsd does not negotiate a read size
absl::Status CheckMountOption(const std::string& option);

// The first bad one of `options`, as InvalidArgument "PREFIXOPTION: why"
// ("-o bogus=1: unknown mount option (...)").
absl::Status CheckMountOptions(const std::vector<std::string>& options,
                               absl::string_view prefix);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_MOUNT_OPTIONS_H_
