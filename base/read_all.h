// Reading a descriptor to its end, written once (files named by flags,
// policy files, standard input).
#ifndef SCOPEDFS_BASE_READ_ALL_H_
#define SCOPEDFS_BASE_READ_ALL_H_

#include <errno.h>
#include <unistd.h>

#include <string>

#include "base/retry_eintr.h"

namespace scopedfs {

// Appends everything `fd` has left to `*out`. Returns 0, or the errno of the
// read that failed (EISDIR for a directory); what was read stays in `*out`.
inline int ReadAll(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = RetryEintr([&] { return read(fd, buf, sizeof buf); });
    if (n == 0) return 0;
    if (n < 0) return errno;
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace scopedfs

#endif  // SCOPEDFS_BASE_READ_ALL_H_
