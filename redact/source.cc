#include "redact/source.h"

#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"

namespace scopedfs::redact {
namespace {

absl::Status CheckRange(uint64_t offset, size_t length, uint64_t size) {
  if (offset > size || length > size - offset) {
    return absl::OutOfRangeError(absl::StrCat("read of ", length, " bytes at ",
                                              offset, " outside ", size));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status StringSource::Read(uint64_t offset, size_t length,
                                std::string* out) const {
  if (absl::Status s = CheckRange(offset, length, data_.size()); !s.ok()) {
    return s;
  }
  out->assign(data_.data() + offset, length);
  return absl::OkStatus();
}

absl::Status FdSource::Read(uint64_t offset, size_t length,
                            std::string* out) const {
  if (absl::Status s = CheckRange(offset, length, size_); !s.ok()) return s;
  out->resize(length);
  size_t done = 0;
  while (done < length) {
    const ssize_t n = RetryEintr(
        [&] { return pread(fd_, &(*out)[done], length - done, offset + done); });
    if (n < 0) {
      return absl::ErrnoToStatus(errno, "pread");
    }
    // The file shrank below the size we trust: fail rather than parse a
    // short buffer.
    if (n == 0) return absl::DataLossError("file shorter than its size");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace scopedfs::redact
