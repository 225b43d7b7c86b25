#include "daemon/state_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace scopedfs {
namespace {

absl::Status Errno(absl::string_view what, absl::string_view path) {
  return absl::InternalError(
      absl::StrCat(what, " '", path, "': ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<StateDir> StateDir::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("--state_dir is empty");
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create state dir '", path, "': ", std::strerror(errno)));
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("state dir '", path, "' is not a directory"));
  }
  if (access(path.c_str(), W_OK | X_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot write state dir '", path, "': ", std::strerror(errno)));
  }
  const std::string lock_path = absl::StrCat(path, "/", kLockFile);
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Errno("cannot create", lock_path);
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir '", path, "' is in use by another scopedfsd (see ",
        path, "/", kPidFile, "); each mount needs its own --state_dir"));
  }
  // Deliberately never closed: the lock lives as long as the process.
  return StateDir(path);
}

absl::Status StateDir::ReplaceFile(absl::string_view name,
                                   absl::string_view contents, bool durable) {
  const std::string final_path = absl::StrCat(path_, "/", name);
  const std::string tmp_path = absl::StrCat(final_path, ".tmp.", getpid());
  const int fd = open(tmp_path.c_str(),
                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp_path);
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const absl::Status st = Errno("cannot write", tmp_path);
      close(fd);
      unlink(tmp_path.c_str());
      return st;
    }
    done += n;
  }
  if (durable && fsync(fd) != 0) {
    const absl::Status st = Errno("cannot fsync", tmp_path);
    close(fd);
    unlink(tmp_path.c_str());
    return st;
  }
  close(fd);
  if (rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    const absl::Status st = Errno("cannot rename to", final_path);
    unlink(tmp_path.c_str());
    return st;
  }
  if (durable) {
    const int dir_fd = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return Errno("cannot open", path_);
    const int res = fsync(dir_fd);
    close(dir_fd);
    if (res != 0) return Errno("cannot fsync", path_);
  }
  return absl::OkStatus();
}

absl::Status StateDir::WritePid(pid_t pid) {
  return ReplaceFile(kPidFile, absl::StrCat(pid, "\n"), /*durable=*/false);
}

void StateDir::RemovePid() {
  unlink(absl::StrCat(path_, "/", kPidFile).c_str());
}

absl::Status StateDir::WriteStats(absl::string_view text) {
  return ReplaceFile(kStatsFile, text, /*durable=*/false);
}

}  // namespace scopedfs
