// Reading the files scopedfsd is given by name (--config, --policy).
#ifndef SCOPEDFS_DAEMON_TEXT_FILE_H_
#define SCOPEDFS_DAEMON_TEXT_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scopedfs {

// The contents of the regular file (or pipe) `path`. `expected` says what it
// should be ("a policy file"). InvalidArgument in one line otherwise:
//   '/x' is a directory, expected a policy file
//   cannot read '/x': Permission denied
absl::StatusOr<std::string> ReadTextFile(const std::string& path,
                                         absl::string_view expected);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_TEXT_FILE_H_
