#include "daemon/text_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/read_all.h"
#include "base/retry_eintr.h"

namespace scopedfs {

absl::StatusOr<std::string> ReadTextFile(const std::string& path,
                                         absl::string_view expected) {
  auto error = [&](int err) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "': ", std::strerror(err)));
  };
  const int fd = RetryEintr([&] { return open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (fd < 0) return error(errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return error(err);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is a directory, expected ", expected));
  }
  std::string text;
  if (const int err = ReadAll(fd, &text); err != 0) {
    close(fd);
    return error(err);
  }
  close(fd);
  return text;
}

}  // namespace scopedfs
