#include "daemon/stats.h"

#include <dirent.h>

#include "absl/strings/str_cat.h"

namespace scopedfs {
namespace {

uint64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (dirent* de = readdir(dir)) {
    if (de->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // Not counting the descriptor of this listing.
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
  line("open_fds", CountOpenFds());
  return out;
}

}  // namespace scopedfs
