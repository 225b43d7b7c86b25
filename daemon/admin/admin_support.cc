#include "daemon/admin/admin_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "audit/escape.h"
#include "audit/process_info.h"
#include "daemon/log.h"

namespace scopedfs::admin {

absl::StatusOr<Resolved> Resolve(int root_fd, const std::string& path) {
  const std::string shown = audit::Escape(path);
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  Resolved r;
  r.dir = UniqueFd(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (r.dir.get() < 0) {
    return absl::InternalError(absl::StrCat("cannot open the backing root: ",
                                            std::strerror(errno)));
  }
  std::string walked;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& part = parts[i];
    absl::StrAppend(&walked, walked.empty() ? "" : "/", part);
    struct stat st;
    if (fstatat(r.dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) {
        return absl::NotFoundError(absl::StrCat(
            "no file at \"", shown, "\": there is no \"", audit::Escape(walked), "\""));
      }
      return absl::InternalError(absl::StrCat("cannot look up \"", audit::Escape(walked),
                                              "\": ", std::strerror(errno)));
    }
    if (S_ISLNK(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad path \"", shown, "\": \"", audit::Escape(walked),
          "\" is a symlink (give the path the mount serves the file at)"));
    }
    if (!S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad path \"", shown, "\": \"", audit::Escape(walked), "\" is not a directory"));
    }
    UniqueFd next(openat(r.dir.get(), part.c_str(),
                   O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      // Replaced by a symlink or a file since the fstatat.
      return absl::AbortedError(absl::StrCat("\"", audit::Escape(walked),
                                             "\" changed while being looked up: ",
                                             std::strerror(errno)));
    }
    r.dir = std::move(next);
  }
  r.name = parts.back();
  if (fstatat(r.dir.get(), r.name.c_str(), &r.st, AT_SYMLINK_NOFOLLOW) == 0) {
    r.exists = true;
  } else if (errno != ENOENT) {
    return absl::InternalError(
        absl::StrCat("cannot look up \"", shown, "\": ", std::strerror(errno)));
  }
  return r;
}


void AuditAdminAction(Server* server, const AdminCaller& caller,
                      const std::string& path, std::string rule_id) {
  audit::AuditLog* log = server->audit_log();
  if (log == nullptr) return;
  const auto engine = server->policy().engine();
  audit::Event e;
  e.time_unix_nanos = absl::ToUnixNanos(absl::Now());
  e.uid = caller.uid;
  e.gid = caller.gid;
  e.pid = caller.pid;
  e.operation = v1::SETATTR;
  e.decision = v1::ALLOW;
  e.policy_generation = engine->generation();
  e.path = path;
  if (const std::string* app = engine->AppOf(caller.uid, caller.gid)) e.app = *app;
  e.rule_id = std::move(rule_id);
  if (caller.pid != 0) {
    // Named now: scopedctl may be gone by the time the writer looks.
    audit::ProcessInfoCache names;
    const audit::ProcessInfoCache::Info& info = names.Lookup(caller.pid, absl::Now());
    e.comm = info.comm;
    e.exe = info.exe;
  } else {
    e.exe = caller.where;
  }
  const std::string rule = e.rule_id;
  if (!log->Submit(std::move(e))) {
    SFS_LOG(kWarning, "the audit event of %s by admin uid %d was dropped "
                      "(audit queue full)", rule, caller.uid);
  }
}

}  // namespace scopedfs::admin
