// Where the redaction parsers read bytes from: a file (pread) or, in tests
// and fuzzers, a string. Parsers never read outside [0, size()).
#ifndef SCOPEDFS_REDACT_SOURCE_H_
#define SCOPEDFS_REDACT_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace scopedfs::redact {

class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly `length` bytes at `offset` into `out` (resized). A range
  // outside the source is an error (OutOfRange), never a short read.
  virtual absl::Status Read(uint64_t offset, size_t length,
                            std::string* out) const = 0;
};

class StringSource : public Source {
 public:
  explicit StringSource(absl::string_view data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  absl::Status Read(uint64_t offset, size_t length,
                    std::string* out) const override;

 private:
  absl::string_view data_;
};

// Reads with pread(2); does not own `fd`. `size` is the file size to trust
// (the caller's fstat), so a file growing underneath changes nothing.
class FdSource : public Source {
 public:
  FdSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  uint64_t size() const override { return size_; }
  absl::Status Read(uint64_t offset, size_t length,
                    std::string* out) const override;

 private:
  int fd_;
  uint64_t size_;
};

}  // namespace scopedfs::redact

#endif  // SCOPEDFS_REDACT_SOURCE_H_
