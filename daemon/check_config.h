// --check-config: what Daemon::Start would refuse, found without mounting
// and without taking the state dir (a running daemon may hold it).
#ifndef SCOPEDFS_DAEMON_CHECK_CONFIG_H_
#define SCOPEDFS_DAEMON_CHECK_CONFIG_H_

#include "daemon/daemon.h"

namespace scopedfs {

// Prints what it checked ("scopedfsd: ok: ..." on stdout) and every problem
// ("scopedfsd: error: ..." on stderr, one line each). Returns the exit
// status: 0 if the configuration is usable, 2 if not.
int CheckConfig(const DaemonOptions& options);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_CHECK_CONFIG_H_
