// Dumps the counters to STATE_DIR/stats on SIGUSR1 (scopedctl stats, tests),
// from a thread of its own that waits for the signal.
#ifndef SCOPEDFS_DAEMON_STATS_DUMPER_H_
#define SCOPEDFS_DAEMON_STATS_DUMPER_H_

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "daemon/server.h"
#include "daemon/state_dir.h"

namespace scopedfs {

class StatsDumper {
 public:
  // SIGUSR1 and SIGUSR2 must be blocked in every thread of the process
  // (Daemon::Start blocks them before it starts any): this blocks them in
  // the calling thread and waits for them in its own.
  StatsDumper(const Server* server, StateDir* state);
  // Ends the thread (SIGUSR2) and writes the counters a last time, so the
  // final ones stay readable after exit.
  ~StatsDumper();
  StatsDumper(const StatsDumper&) = delete;
  StatsDumper& operator=(const StatsDumper&) = delete;

 private:
  void Loop();
  void Dump();

  const Server* const server_;
  StateDir* const state_;
  sigset_t signals_;
  std::atomic<uint64_t> sequence_{0};
  std::thread thread_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_STATS_DUMPER_H_
