#include "daemon/stats_dumper.h"

#include <pthread.h>

#include "daemon/log.h"

namespace scopedfs {

StatsDumper::StatsDumper(const Server* server, StateDir* state)
    : server_(server), state_(state) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGUSR1);
  sigaddset(&signals_, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

StatsDumper::~StatsDumper() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
  Dump();
}

void StatsDumper::Loop() {
  int sig = 0;
  while (sigwait(&signals_, &sig) == 0 && sig == SIGUSR1) Dump();
}

void StatsDumper::Dump() {
  auto st = state_->WriteStats(RenderStats(*server_, ++sequence_));
  if (!st.ok()) SFS_LOG(kWarning, "cannot write stats: %s", st.ToString());
}

}  // namespace scopedfs
