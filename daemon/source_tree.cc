#include "daemon/source_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace scopedfs {

std::string AtimeOptions::Describe() const {
  std::vector<std::string> parts;
  switch (mode) {
    case Mode::kSource: break;
    case Mode::kNoatime: parts.push_back("noatime"); break;
    case Mode::kRelatime: parts.push_back("relatime"); break;
    case Mode::kStrictatime: parts.push_back("strictatime"); break;
  }
  if (nodiratime.has_value()) parts.push_back(*nodiratime ? "nodiratime" : "diratime");
  return absl::StrJoin(parts, ",");
}

AtimeOptions AtimeFromMountOptions(const std::vector<std::string>& options) {
  AtimeOptions out;
  for (const std::string& o : options) {
    if (o == "noatime") {
      out.mode = AtimeOptions::Mode::kNoatime;
    } else if (o == "relatime" || o == "atime" || o == "nostrictatime") {
      // mount(8): atime and nostrictatime mean the kernel's default, which
      // is relatime.
      out.mode = AtimeOptions::Mode::kRelatime;
    } else if (o == "strictatime" || o == "norelatime") {
      out.mode = AtimeOptions::Mode::kStrictatime;
    } else if (o == "nodiratime") {
      out.nodiratime = true;
    } else if (o == "diratime") {
      out.nodiratime = false;
    }
  }
  return out;
}

std::vector<std::string> OptionsForLibfuse(const std::vector<std::string>& options) {
  std::vector<std::string> out;
  for (const std::string& o : options) {
    if (o == "atime" || o == "diratime" || o == "relatime" || o == "norelatime" ||
        o == "strictatime") {
      continue;
    }
    out.push_back(o);
  }
  return out;
}

absl::StatusOr<int> OpenSourceTree(const std::string& source,
                                   const AtimeOptions& atime) {
  if (!atime.any()) {
    const int fd = open(source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return absl::ErrnoToStatus(errno, "open");
    return fd;
  }
  const int fd = static_cast<int>(
      syscall(SYS_open_tree, AT_FDCWD, source.c_str(),
              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "-o ", atime.Describe(), " needs a private copy of SOURCE's mount "
        "(open_tree, Linux 5.2): ", std::strerror(errno)));
  }
  struct mount_attr attr = {};
  switch (atime.mode) {
    case AtimeOptions::Mode::kSource: break;
    case AtimeOptions::Mode::kNoatime:
      attr.attr_set |= MOUNT_ATTR_NOATIME;
      attr.attr_clr |= MOUNT_ATTR__ATIME;
      break;
    case AtimeOptions::Mode::kRelatime:
      attr.attr_set |= MOUNT_ATTR_RELATIME;
      attr.attr_clr |= MOUNT_ATTR__ATIME;
      break;
    case AtimeOptions::Mode::kStrictatime:
      attr.attr_set |= MOUNT_ATTR_STRICTATIME;
      attr.attr_clr |= MOUNT_ATTR__ATIME;
      break;
  }
  if (atime.nodiratime.has_value()) {
    (*atime.nodiratime ? attr.attr_set : attr.attr_clr) |= MOUNT_ATTR_NODIRATIME;
  }
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
              sizeof(attr)) != 0) {
    const int err = errno;
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "-o ", atime.Describe(), ": cannot set it on a private copy of "
        "SOURCE's mount (mount_setattr, Linux 5.12): ", std::strerror(err)));
  }
  return fd;
}

}  // namespace scopedfs
