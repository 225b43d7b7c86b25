// UniqueFd: a descriptor closed when its owner goes out of scope.
#ifndef SCOPEDFS_BASE_UNIQUE_FD_H_
#define SCOPEDFS_BASE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace scopedfs {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  // Hands the descriptor over: the caller closes it now.
  int release() { return std::exchange(fd_, -1); }

 private:
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_BASE_UNIQUE_FD_H_
