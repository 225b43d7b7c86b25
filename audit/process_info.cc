#include "audit/process_info.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"

namespace scopedfs::audit {
namespace {

std::string ReadComm(uint32_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/comm");
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[64];
  const ssize_t n = RetryEintr([&] { return read(fd, buf, sizeof(buf)); });
  close(fd);
  if (n <= 0) return "";
  std::string comm(buf, static_cast<size_t>(n));
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

std::string ReadExe(uint32_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/exe");
  char buf[4096];
  const ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

ProcessInfoCache::ProcessInfoCache(absl::Duration ttl, size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries == 0 ? 1 : max_entries) {}

const ProcessInfoCache::Info& ProcessInfoCache::Lookup(uint32_t pid,
                                                       absl::Time now) {
  auto it = entries_.find(pid);
  if (it != entries_.end() && now - it->second.read_at < ttl_ &&
      now >= it->second.read_at) {
    return it->second.info;
  }
  if (it == entries_.end() && entries_.size() >= max_entries_) {
    entries_.clear();  // wholesale: cheap, and live pids come back fast
  }
  Entry& e = entries_[pid];
  if (pid == 0) {
    e.info = Info();  // kernel-internal requests: no process
  } else {
    e.info.comm = ReadComm(pid);
    e.info.exe = ReadExe(pid);
  }
  e.read_at = now;
  return e.info;
}

}  // namespace scopedfs::audit
