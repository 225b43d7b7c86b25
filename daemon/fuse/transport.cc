#include "daemon/fuse/transport.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"
#include "daemon/log.h"

namespace scopedfs {
namespace {

// The parameter's first byte ('Y' or 'N'), or an errno.
absl::StatusOr<char> ReadParam(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": ", std::strerror(errno),
        errno == ENOENT ? " (a kernel without CONFIG_FUSE_IO_URING, or the "
                          "fuse module is not loaded)"
                        : ""));
  }
  char c = 0;
  const ssize_t n = RetryEintr([&] { return read(fd, &c, 1); });
  close(fd);
  if (n != 1) return absl::FailedPreconditionError(absl::StrCat(path, ": unreadable"));
  return c;
}

absl::Status WriteY(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot set ", path, " to Y: ", std::strerror(errno),
                     " (run as root, or set it beforehand)"));
  }
  const ssize_t n = RetryEintr([&] { return write(fd, "Y", 1); });
  const int err = errno;
  close(fd);
  if (n != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot set ", path, " to Y: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Transport> ParseTransport(absl::string_view name) {
  if (name == "auto") return Transport::kAuto;
  if (name == "uring") return Transport::kUring;
  if (name == "dev") return Transport::kDev;
  return absl::InvalidArgumentError(absl::StrCat(
      "--transport: invalid value '", name, "' (expected auto, uring or dev)"));
}

absl::StatusOr<bool> PrepareTransport(Transport transport,
                                      absl::string_view enable_uring_param) {
  if (transport == Transport::kDev) return false;
  const std::string path(enable_uring_param);
  absl::StatusOr<char> value = ReadParam(path);
  absl::Status ready = value.status();
  if (value.ok() && *value != 'Y') {
    ready = WriteY(path);
    if (ready.ok()) {
      SFS_LOG(kInfo, "set %s to Y: the kernel may now offer fuse-over-io-uring",
              path);
    }
  }
  if (ready.ok()) return true;
  if (transport == Transport::kUring) {
    return absl::FailedPreconditionError(
        absl::StrCat("--transport=uring: ", ready.message()));
  }
  SFS_LOG(kInfo, "fuse-over-io-uring unavailable (%s): using /dev/fuse",
          std::string(ready.message()));
  return false;
}

}  // namespace scopedfs
