#include "daemon/command_line.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/mount_options.h"

namespace scopedfs {
namespace {

absl::Status PathError(const std::string& what, const std::string& path,
                       int err) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " '", path, "': ", std::strerror(err)));
}

// True if `inner` is `outer` or lies below it (both canonical).
bool IsWithin(const std::string& inner, const std::string& outer) {
  if (outer == "/") return true;
  return inner == outer || absl::StartsWith(inner, outer + "/");
}

absl::StatusOr<std::string> Canonical(const std::string& what,
                                      const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    return PathError(what, path, errno);
  }
  return std::string(buf);
}

}  // namespace

absl::StatusOr<FuseStyleArgs> SplitFuseStyleArgs(int argc, char** argv) {
  FuseStyleArgs out;
  bool only_positional = false;
  for (int i = 0; i < argc; ++i) {
    char* arg = argv[i];
    if (i == 0 || only_positional) {
      out.rest.push_back(arg);
      continue;
    }
    if (std::strcmp(arg, "--") == 0) {
      only_positional = true;
      out.rest.push_back(arg);
    } else if (std::strcmp(arg, "-o") == 0 || absl::StartsWith(arg, "-o")) {
      const char* value = arg[2] != '\0' ? arg + 2 : nullptr;
      if (value == nullptr) {
        if (i + 1 >= argc) return absl::InvalidArgumentError("-o needs a value");
        value = argv[++i];
      }
      for (std::string& opt : SplitMountOptions(value)) {
        out.mount_options.push_back(std::move(opt));
      }
    } else if (std::strcmp(arg, "-f") == 0) {
      out.foreground = true;
    } else if (std::strcmp(arg, "-d") == 0) {
      out.debug = true;
    } else {
      out.rest.push_back(arg);
    }
  }
  return out;
}

namespace {

// What a FUSE mount whose daemon died answers: ENOTCONN, or, when it served
// over io_uring, ECONNABORTED (ECANCELED for a request the dying ring had
// taken).
bool IsDeadFuseErrno(int err) {
  return err == ENOTCONN || err == ECONNABORTED || err == ECANCELED;
}

}  // namespace

MountpointState ProbeMountpoint(const std::string& mountpoint) {
  // statfs always reaches the file system: a FUSE mount whose daemon died
  // answers ENOTCONN (ECONNABORTED or ECANCELED after io_uring). stat alone may be
  // answered from attributes the kernel still caches (for up to the dead
  // daemon's attribute timeout).
  struct statfs sf;
  if (statfs(mountpoint.c_str(), &sf) != 0 && IsDeadFuseErrno(errno)) {
    return MountpointState::kStaleFuseMount;
  }
  struct stat st;
  if (stat(mountpoint.c_str(), &st) != 0) {
    return IsDeadFuseErrno(errno) ? MountpointState::kStaleFuseMount
                                  : MountpointState::kReady;
  }
  // A mount point sits on another device than its parent directory.
  struct stat parent;
  const std::string up = mountpoint + "/..";
  if (stat(up.c_str(), &parent) == 0 &&
      (parent.st_dev != st.st_dev || parent.st_ino == st.st_ino)) {
    return parent.st_ino == st.st_ino && parent.st_dev == st.st_dev
               ? MountpointState::kReady  // "/" itself.
               : MountpointState::kLiveMount;
  }
  return MountpointState::kReady;
}

absl::Status ValidateMountPaths(const std::string& source,
                                const std::string& mountpoint,
                                std::string* canonical_source,
                                std::string* canonical_mountpoint) {
  struct stat st;
  if (stat(source.c_str(), &st) != 0) {
    return PathError("cannot use source", source, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return PathError("cannot use source", source, ENOTDIR);
  }
  if (access(source.c_str(), R_OK | X_OK) != 0) {
    return PathError("cannot read source", source, errno);
  }
  if (stat(mountpoint.c_str(), &st) != 0) {
    return PathError("cannot use mountpoint", mountpoint, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return PathError("cannot use mountpoint", mountpoint, ENOTDIR);
  }
  auto src = Canonical("cannot use source", source);
  if (!src.ok()) return src.status();
  auto mnt = Canonical("cannot use mountpoint", mountpoint);
  if (!mnt.ok()) return mnt.status();
  if (IsWithin(*mnt, *src)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mountpoint '", *mnt, "' is inside the source '", *src,
        "': the mount would contain itself"));
  }
  if (IsWithin(*src, *mnt)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source '", *src, "' is inside the mountpoint '", *mnt,
        "': the mount would hide its own backing files"));
  }
  DIR* dir = opendir(mnt->c_str());
  if (dir == nullptr) return PathError("cannot read mountpoint", *mnt, errno);
  bool empty = true;
  while (dirent* de = readdir(dir)) {
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(dir);
  if (!empty) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mountpoint '", *mnt,
        "' is not empty: its files would be hidden by the mount"));
  }
  *canonical_source = *src;
  *canonical_mountpoint = *mnt;
  return absl::OkStatus();
}

std::string EscapeMountOptionValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace scopedfs
