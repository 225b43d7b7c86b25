#include "daemon/state_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"
#include "daemon/log.h"

namespace scopedfs {
namespace {

absl::Status Errno(absl::string_view what, absl::string_view path) {
  return absl::InternalError(
      absl::StrCat(what, " '", path, "': ", std::strerror(errno)));
}

// Files ReplaceFile writes: a crash may leave "NAME.tmp.PID" behind.
constexpr const char* kReplacedFiles[] = {StateDir::kPidFile, StateDir::kStatsFile,
                                          StateDir::kPolicyFile, StateDir::kGrantsFile};

// Whether `entry` is a temp file of ReplaceFile ("NAME.tmp.DIGITS").
bool IsStaleTemp(absl::string_view entry) {
  for (const char* name : kReplacedFiles) {
    absl::string_view rest = entry;
    if (!absl::ConsumePrefix(&rest, name) || !absl::ConsumePrefix(&rest, ".tmp.") ||
        rest.empty()) {
      continue;
    }
    bool digits = true;
    for (char c : rest) digits = digits && absl::ascii_isdigit(c);
    if (digits) return true;
  }
  return false;
}

// Brings the regular file `name` under `dir_fd` to `mode` and the daemon's
// uid and gid, on a descriptor opened without following a symlink (no race
// with a rename in between). Absent: nothing to do.
absl::Status SecureFile(int dir_fd, const std::string& dir, const std::string& name,
                        mode_t mode) {
  const std::string path = absl::StrCat(dir, "/", name);
  const int fd = openat(dir_fd, name.c_str(),
                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    if (errno == ELOOP) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state dir file '", path, "' is a symlink; the daemon's files must be "
          "its own (remove it)"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open state dir file '", path, "': ", std::strerror(errno)));
  }
  struct stat st;
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = Errno("cannot stat", path);
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(absl::StrCat(
        "state dir file '", path, "' is not a regular file; remove it"));
  } else {
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    if (st.st_uid != uid || st.st_gid != gid) {
      if (fchown(fd, uid, gid) != 0) {
        status = Errno("cannot take ownership of", path);
      } else {
        SFS_LOG(kWarning, "state dir: %s was owned by %d:%d, now %d:%d", path,
                st.st_uid, st.st_gid, uid, gid);
      }
    }
    if (status.ok() && (st.st_mode & 07777) != mode) {
      if (fchmod(fd, mode) != 0) {
        status = Errno("cannot change the mode of", path);
      } else {
        SFS_LOG(kWarning, "state dir: %s had mode %04o, now %04o", path,
                st.st_mode & 07777, mode);
      }
    }
  }
  close(fd);
  return status;
}

}  // namespace

absl::StatusOr<StateDir> StateDir::Open(const std::string& given_path) {
  if (given_path.empty()) return absl::InvalidArgumentError("--state_dir is empty");
  if (mkdir(given_path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create state dir '", given_path, "': ", std::strerror(errno)));
  }
  // Absolute: a daemon in the background works from "/".
  char* real = realpath(given_path.c_str(), nullptr);
  const std::string path = real != nullptr ? real : given_path;
  free(real);
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
  const int lock_fd =
      open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  if (lock_fd < 0) return Errno("cannot create", lock_path);
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir '", path, "' is in use by another scopedfsd (see ",
        path, "/", kPidFile, "); each mount needs its own --state_dir"));
  }
  // Deliberately never closed: the lock lives as long as the process.
  StateDir dir(path);
  if (absl::Status st = dir.SecureFiles(); !st.ok()) return st;
  return dir;
}

absl::Status StateDir::SecureFiles() {
  const int dir_fd = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("cannot open", path_);
  // Temp files of a crashed run (we hold the lock: no other writer).
  const int list_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  DIR* d = list_fd >= 0 ? fdopendir(list_fd) : nullptr;
  if (d == nullptr && list_fd >= 0) close(list_fd);
  if (d != nullptr) {
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
      if (IsStaleTemp(e->d_name)) stale.push_back(e->d_name);
    }
    closedir(d);
    for (const std::string& name : stale) {
      if (unlinkat(dir_fd, name.c_str(), 0) == 0) {
        SFS_LOG(kInfo, "state dir: removed %s/%s, left by an earlier run", path_, name);
      }
    }
  }
  const std::string db = kAuditDb;
  absl::Status status;
  for (const std::string& name :
       {std::string(kLockFile), std::string(kPidFile), std::string(kStatsFile),
        std::string(kPolicyFile), std::string(kGrantsFile), db, db + "-wal", db + "-shm", db + "-journal"}) {
    status = SecureFile(dir_fd, path_, name, kFileMode);
    if (!status.ok()) break;
  }
  close(dir_fd);
  return status;
}

std::string StateDir::AuditDbPath() const { return absl::StrCat(path_, "/", kAuditDb); }

absl::Status StateDir::ReplaceFile(absl::string_view name,
                                   absl::string_view contents, bool durable) {
  const std::string final_path = absl::StrCat(path_, "/", name);
  const std::string tmp_path = absl::StrCat(final_path, ".tmp.", getpid());
  // A fresh file (never one left behind with another mode), kFileMode
  // whatever the umask.
  unlink(tmp_path.c_str());
  const int fd = open(tmp_path.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  if (fd < 0) return Errno("cannot create", tmp_path);
  if (fchmod(fd, kFileMode) != 0) {
    const absl::Status st = Errno("cannot set the mode of", tmp_path);
    close(fd);
    unlink(tmp_path.c_str());
    return st;
  }
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = RetryEintr(
        [&] { return write(fd, contents.data() + done, contents.size() - done); });
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
