// scopedfsd's Abseil flags, checked before absl::ParseCommandLine sees them:
// absl reports a bad flag as one "ERROR: ..." line per problem and exits 1,
// where scopedfsd promises one "scopedfsd: error: ..." line and exit 2 for
// every bad argument (README, "Running the daemon").
#ifndef SCOPEDFS_DAEMON_FLAG_CHECK_H_
#define SCOPEDFS_DAEMON_FLAG_CHECK_H_

#include <vector>

#include "absl/status/status.h"

namespace scopedfs {

// Checks the flags in `args` (args[0] is the program; "--" ends the flags)
// against the flag registry and sets them as absl::ParseCommandLine would
// ("--f=v", "-f=v", "--f v", "--f" and "--nof" for booleans), so that
// ParseCommandLine, run afterwards, finds nothing to complain about and only
// acts on --help, --version and the other usage flags, which this leaves
// alone. The first problem as InvalidArgument, in one line naming the flag:
//   unknown flag --bogus (see --help)
//   --threads needs a value
//   --threads: invalid value 'abc' (expected an integer)
//   --nopassthrough takes no value (or use --passthrough=true|false)
//   --flagfile is not supported: put flags in --config=FILE
// (absl's --flagfile, --fromenv, --tryfromenv and --undefok are refused: a
// config file is the one way to give flags from elsewhere).
absl::Status CheckAndSetFlags(const std::vector<char*>& args);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FLAG_CHECK_H_
