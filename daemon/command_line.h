// The command line of scopedfsd, shaped like other FUSE servers':
//   scopedfsd [flags] [-o opt[,opt...]] [-f] [-d] SOURCE MOUNTPOINT
// `-o` options go to libfuse's mount code; everything else is an Abseil flag.
// Checks of SOURCE and MOUNTPOINT live here so they are testable without a
// mount; their failures are one-line messages and exit status 2.
#ifndef SCOPEDFS_DAEMON_COMMAND_LINE_H_
#define SCOPEDFS_DAEMON_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace scopedfs {

struct FuseStyleArgs {
  std::vector<std::string> mount_options;  // From every -o (SplitMountOptions).
  bool foreground = false;                 // -f
  bool debug = false;                      // -d
  std::vector<char*> rest;                 // argv without the above.
};

// Pulls -o/-oX, -f and -d out of argv; the rest is for absl::ParseCommandLine.
absl::StatusOr<FuseStyleArgs> SplitFuseStyleArgs(int argc, char** argv);

// What a stale mountpoint check found.
enum class MountpointState { kReady, kStaleFuseMount, kLiveMount };

// kStaleFuseMount: a FUSE mount whose daemon died (ENOTCONN).
// kLiveMount: something is mounted there and answering.
MountpointState ProbeMountpoint(const std::string& mountpoint);

// Checks SOURCE and MOUNTPOINT: both exist and are directories, SOURCE is
// readable and searchable, neither lies inside the other, MOUNTPOINT is
// empty. Returns the canonical paths on success.
absl::Status ValidateMountPaths(const std::string& source,
                                const std::string& mountpoint,
                                std::string* canonical_source,
                                std::string* canonical_mountpoint);

// Escapes a value for a libfuse -o option (commas and backslashes).
std::string EscapeMountOptionValue(const std::string& value);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_COMMAND_LINE_H_
