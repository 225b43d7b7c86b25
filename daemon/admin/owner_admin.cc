#include "daemon/admin/owner_admin.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "audit/escape.h"
#include "base/unique_fd.h"
#include "audit/process_info.h"
#include "daemon/access.h"
#include "daemon/admin/admin_support.h"
#include "daemon/admin/requests.h"
#include "daemon/log.h"

namespace scopedfs::admin {
namespace {


void ToProto(const audit::Owner& owner, v1::OwnerRecord* out) {
  out->set_uid(owner.uid);
  out->set_app(owner.app);
  out->set_time_unix_nanos(owner.time_unix_nanos);
  out->set_dev(owner.dev);
  out->set_ino(owner.ino);
  out->set_birth_unix_nanos(owner.birth_nanos);
}

// The valid record of the resolved file, if any (a stale one is dropped,
// as on every question the policy asks).
std::optional<audit::Owner> CurrentOwner(audit::OwnerIndex& owners,
                                         const std::string& path,
                                         const Resolved& r) {
  if (!r.exists) return std::nullopt;
  const int dir = r.dir.get();
  const std::string& name = r.name;
  const uint64_t ino = r.st.st_ino;
  return owners.Get(path, r.st.st_dev, ino,
                    [&] { return BirthNanosAt(dir, name, ino); });
}

// The gid an owner's app is looked up with when the request names none.
uint32_t DefaultGid(uint32_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_gid;
  }
  return uid;
}

std::string Describe(const audit::Owner& owner) {
  return absl::StrCat("uid ", owner.uid,
                      owner.app.empty() ? "" : absl::StrCat(" (app ", owner.app, ")"));
}

}  // namespace

namespace {

// What get and set are about: the owner store, the request's path
// (checked, unescaped, and as shown) and the file there, which must exist.
struct ExistingFile {
  audit::AuditLog* log;
  std::string path;
  std::string shown;
  Resolved file;
};

absl::StatusOr<ExistingFile> FindExisting(Server* server,
                                          const std::string& wire_path) {
  audit::AuditLog* log = server->audit_log();
  if (log == nullptr) return absl::UnavailableError("no owner store");
  absl::StatusOr<std::string> path = OwnerPathOf(wire_path);
  if (!path.ok()) return path.status();
  absl::StatusOr<Resolved> r = Resolve(server->nodes().Root()->fd, *path);
  if (!r.ok()) return r.status();
  std::string shown = audit::Escape(*path);
  if (!r->exists) {
    return absl::NotFoundError(absl::StrCat("no file at \"", shown, "\""));
  }
  return ExistingFile{log, *std::move(path), std::move(shown), *std::move(r)};
}

}  // namespace

absl::StatusOr<v1::GetOwnerResponse> OwnerAdmin::Get(
    const v1::GetOwnerRequest& request) {
  absl::StatusOr<ExistingFile> f = FindExisting(server_, request.path());
  if (!f.ok()) return f.status();
  v1::GetOwnerResponse response;
  response.set_path(f->shown);
  if (std::optional<audit::Owner> owner =
          CurrentOwner(f->log->owners(), f->path, f->file)) {
    ToProto(*owner, response.mutable_owner());
  }
  return response;
}

absl::StatusOr<v1::SetOwnerResponse> OwnerAdmin::Set(
    const v1::SetOwnerRequest& request, const AdminCaller& caller) {
  absl::StatusOr<ExistingFile> f = FindExisting(server_, request.path());
  if (!f.ok()) return f.status();
  audit::AuditLog* log = f->log;
  const std::string* path = &f->path;
  const std::string& shown = f->shown;
  const Resolved* r = &f->file;
  const uint32_t uid = request.uid();
  const uint32_t gid = request.has_gid() ? request.gid() : DefaultGid(uid);
  const auto engine = server_->policy().engine();
  std::optional<audit::Owner> owner =
      OwnerRecordFor(r->dir.get(), r->name, r->st, engine->AppOf(uid, gid), uid);
  if (!owner.has_value()) {
    return absl::AbortedError(absl::StrCat(
        "the file at \"", shown, "\" changed while its owner was being recorded; try again"));
  }
  v1::SetOwnerResponse response;
  response.set_path(shown);
  if (std::optional<audit::Owner> previous = CurrentOwner(log->owners(), *path, *r)) {
    ToProto(*previous, response.mutable_previous());
  }
  ToProto(*owner, response.mutable_owner());
  SFS_LOG(kInfo, "owner of %s set to %s by admin uid %d", shown, Describe(*owner),
          caller.uid);
  log->owners().Set(*path, *std::move(owner));
  server_->InvalidateAfterOwnerChange();
  AuditAdminAction(server_, caller, *path, absl::StrCat("admin:owner-set:", uid));
  return response;
}

absl::StatusOr<v1::ClearOwnerResponse> OwnerAdmin::Clear(
    const v1::ClearOwnerRequest& request, const AdminCaller& caller) {
  audit::AuditLog* log = server_->audit_log();
  if (log == nullptr) return absl::UnavailableError("no owner store");
  absl::StatusOr<std::string> path = OwnerPathOf(request.path());
  if (!path.ok()) return path.status();
  absl::StatusOr<Resolved> r = Resolve(server_->nodes().Root()->fd, *path);
  // A directory on the way that is gone: no file, and no record can be
  // valid; clear whatever is recorded under that name all the same.
  if (!r.ok() && r.status().code() != absl::StatusCode::kNotFound) return r.status();
  v1::ClearOwnerResponse response;
  const std::string shown = audit::Escape(*path);
  response.set_path(shown);
  response.set_file_exists(r.ok() && r->exists);
  if (r.ok()) {
    if (std::optional<audit::Owner> previous = CurrentOwner(log->owners(), *path, *r)) {
      ToProto(*previous, response.mutable_previous());
    }
  }
  SFS_LOG(kInfo, "owner of %s cleared by admin uid %d", shown, caller.uid);
  log->owners().Remove(*path);
  server_->InvalidateAfterOwnerChange();
  AuditAdminAction(server_, caller, *path, "admin:owner-clear");
  return response;
}

}  // namespace scopedfs::admin
