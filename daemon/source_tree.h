// SOURCE as the daemon reaches it, with the access-time rules the mount
// options ask for.
//
// The kernel decides whether a read updates a file's access time by the
// mount the file was opened through (noatime, nodiratime, relatime,
// strictatime: atime_needs_update), for passthrough reads as for the
// daemon's own. So when -o names one of them, the daemon reaches SOURCE
// through a private, detached copy of its mount (open_tree
// OPEN_TREE_CLONE) with those flags set (mount_setattr), and every backing
// file it opens, for passthrough or to serve, gets exactly the native rule.
// Without them, SOURCE's own mount flags apply, as before. The copy is
// visible to nobody and goes with the daemon's last descriptor of it.
#ifndef SCOPEDFS_DAEMON_SOURCE_TREE_H_
#define SCOPEDFS_DAEMON_SOURCE_TREE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace scopedfs {

struct AtimeOptions {
  enum class Mode { kSource, kNoatime, kRelatime, kStrictatime };
  Mode mode = Mode::kSource;             // kSource: SOURCE's own rule.
  std::optional<bool> nodiratime;        // Unset: SOURCE's own.
  bool any() const { return mode != Mode::kSource || nodiratime.has_value(); }
  // "noatime,nodiratime" and the like, for the log.
  std::string Describe() const;
};

// From -o options: the last of atime/noatime/relatime/norelatime/
// strictatime/nostrictatime wins, and of diratime/nodiratime.
AtimeOptions AtimeFromMountOptions(const std::vector<std::string>& options);

// The options libfuse is given: without the access-time ones it does not
// take (atime, diratime, relatime, norelatime, strictatime), which
// OpenSourceTree honours instead.
std::vector<std::string> OptionsForLibfuse(const std::vector<std::string>& options);

// An O_PATH descriptor of SOURCE's root: of SOURCE itself without atime
// options, else of a detached copy of its mount tree (submounts included)
// with those set.
absl::StatusOr<int> OpenSourceTree(const std::string& source,
                                   const AtimeOptions& atime);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_SOURCE_TREE_H_
