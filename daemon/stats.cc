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

std::string RenderStats(const Stats& s, size_t nodes, uint64_t sequence) {
  std::string out;
  auto line = [&out](const char* name, uint64_t value) {
    absl::StrAppend(&out, name, " ", value, "\n");
  };
  line("sequence", sequence);
  line("read_requests", s.read_requests.load());
  line("read_bytes", s.read_bytes.load());
  line("write_requests", s.write_requests.load());
  line("write_bytes", s.write_bytes.load());
  line("opens_passthrough", s.opens_passthrough.load());
  line("opens_direct_passthrough", s.opens_direct_passthrough.load());
  line("opens_cached", s.opens_cached.load());
  line("backing_registered", s.backing_registered.load());
  line("backing_released", s.backing_released.load());
  line("backing_failures", s.backing_failures.load());
  line("lookups", s.lookups.load());
  line("forgets", s.forgets.load());
  line("nodes", nodes);
  const FdCounts fds = CountOpenFds();
  line("open_fds", fds.all);
  line("open_pipe_fds", fds.pipes);
  return out;
}

}  // namespace scopedfs
