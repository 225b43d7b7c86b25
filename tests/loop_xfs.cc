#include "tests/loop_xfs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tests/shell.h"

namespace scopedfs::testing {

std::string WhyLoopXfsCannotRun() {
  if (geteuid() != 0) return "not root";
  for (const char* tool : {"mkfs.xfs", "losetup"}) {
    if (!HaveTool(tool)) return absl::StrCat(tool, " is missing (./setup.sh installs xfsprogs)");
  }
  if (access("/dev/loop-control", F_OK) != 0) return "no /dev/loop-control";
  return "";
}

absl::StatusOr<std::unique_ptr<LoopXfs>> LoopXfs::Mount(const std::string& image,
                                                         const std::string& dir,
                                                         int mib) {
  std::unique_ptr<LoopXfs> fs(new LoopXfs(image, dir));
  struct stat dir_st;
  if (stat(dir.c_str(), &dir_st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(dir, ": ", std::strerror(errno)));
  }
  const ShellResult made = RunShell(absl::StrCat(
      "truncate -s ", mib, "M '", image, "' && mkfs.xfs -q -m reflink=1 '", image,
      "' 2>&1 && losetup --find --show '", image, "' 2>&1"));
  if (made.status != 0) {
    unlink(image.c_str());
    return absl::InternalError(absl::StrCat("making the xfs image: ", made.output));
  }
  fs->device_ = std::string(absl::StripAsciiWhitespace(made.output));
  if (mount(fs->device_.c_str(), dir.c_str(), "xfs", 0, nullptr) != 0) {
    return absl::InternalError(
        absl::StrCat("mount ", fs->device_, " on ", dir, ": ", std::strerror(errno)));
  }
  fs->mounted_ = true;
  chmod(dir.c_str(), dir_st.st_mode & 07777);
  return fs;
}

LoopXfs::~LoopXfs() {
  if (mounted_ && umount2(dir_.c_str(), 0) != 0 &&
      umount2(dir_.c_str(), MNT_DETACH) != 0) {
    std::fprintf(stderr, "LoopXfs: cannot unmount %s: %s\n", dir_.c_str(),
                 std::strerror(errno));
  }
  // A lazily unmounted file system keeps its device until its last user
  // goes: losetup -d then detaches it automatically at that point.
  if (!device_.empty() &&
      RunShell(absl::StrCat("losetup -d '", device_, "' 2>&1")).status != 0) {
    std::fprintf(stderr, "LoopXfs: cannot detach %s\n", device_.c_str());
  }
  unlink(image_.c_str());
}

}  // namespace scopedfs::testing
