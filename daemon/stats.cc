#include "daemon/stats.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace scopedfs {
namespace {

struct FdCounts {
  uint64_t all = 0;
  uint64_t pipes = 0;  // libfuse keeps one splice pipe pair per worker thread.
};

FdCounts CountOpenFds() {
  FdCounts counts;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return counts;
  const int own = dirfd(dir);
  while (dirent* de = readdir(dir)) {
    if (de->d_name[0] == '.' || atoi(de->d_name) == own) continue;
    ++counts.all;
    char target[64];
    const ssize_t n = readlinkat(own, de->d_name, target, sizeof(target) - 1);
    if (n > 5 && std::strncmp(target, "pipe:", 5) == 0) ++counts.pipes;
  }
  closedir(dir);
  return counts;
}

}  // namespace

void Stats::ForEach(
    size_t nodes, const std::function<void(const char*, uint64_t)>& fn) const {
  static constexpr struct {
    const char* name;
    Counter Stats::*counter;
  } kCounters[] = {
      {"read_requests", &Stats::read_requests},
      {"read_bytes", &Stats::read_bytes},
      {"write_requests", &Stats::write_requests},
      {"write_bytes", &Stats::write_bytes},
      {"opens_passthrough", &Stats::opens_passthrough},
      {"opens_direct_passthrough", &Stats::opens_direct_passthrough},
      {"opens_cached", &Stats::opens_cached},
      {"opens_redacted", &Stats::opens_redacted},
      {"redacted_reads", &Stats::redacted_reads},
      {"backing_registered", &Stats::backing_registered},
      {"backing_released", &Stats::backing_released},
      {"backing_failures", &Stats::backing_failures},
      {"decisions_allow", &Stats::decisions_allow},
      {"decisions_deny", &Stats::decisions_deny},
      {"decisions_hide", &Stats::decisions_hide},
      {"decisions_redacted_denied", &Stats::decisions_redacted_denied},
      {"decision_cache_hits", &Stats::decision_cache_hits},
      {"lookups", &Stats::lookups},
      {"forgets", &Stats::forgets},
  };
  for (const auto& c : kCounters) {
    fn(c.name, (this->*c.counter).load(std::memory_order_relaxed));
  }
  fn("nodes", nodes);
  const FdCounts fds = CountOpenFds();
  fn("open_fds", fds.all);
  fn("open_pipe_fds", fds.pipes);
}

std::string RenderStats(const Stats& s, size_t nodes, uint64_t sequence) {
  std::string out = absl::StrCat("sequence ", sequence, "\n");
  s.ForEach(nodes, [&out](const char* name, uint64_t value) {
    absl::StrAppend(&out, name, " ", value, "\n");
  });
  return out;
}

}  // namespace scopedfs
