#include "daemon/admin/grant_admin.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/escape.h"
#include "daemon/admin/handle_admin.h"
#include "daemon/admin/requests.h"
#include "daemon/log.h"

namespace scopedfs::admin {
namespace {

// The grant's path as stored: raw, relative, and text the policy can hold.
absl::StatusOr<std::string> GrantPathOf(absl::string_view wire_path) {
  if (absl::StatusOr<std::string> raw = audit::Unescape(wire_path);
      raw.ok() && (raw->empty() || *raw == "/")) {
    return absl::InvalidArgumentError(
        "a grant names a file or directory below the mount root (the policy "
        "itself decides the whole tree)");
  }
  absl::StatusOr<std::string> path = OwnerPathOf(wire_path);
  if (!path.ok()) return path.status();
  if (audit::NeedsEscape(*path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad path \"", audit::Escape(*path),
        "\": a grant's path must be UTF-8 without control characters"));
  }
  return path;
}

void NoteUnrevocable(Server* server, const LosingHandles& losing) {
  for (size_t i = 0; i < losing.unrevocable.size(); ++i) {
    Stats::Add(server->stats().handles_unrevocable);
  }
  for (const v1::Handle& h : losing.unrevocable) {
    SFS_LOG(kWarning, "an open handle keeps an access a change removed (kernel "
                      "passthrough, not revocable): %s", DescribeHandle(h));
  }
}

}  // namespace

absl::StatusOr<v1::AddGrantResponse> AddGrant(Server* server,
                                              const v1::AddGrantRequest& request,
                                              const AdminCaller& caller) {
  v1::Grant grant = request.grant();
  absl::StatusOr<std::string> path = GrantPathOf(grant.path());
  if (!path.ok()) return path.status();
  absl::StatusOr<Resolved> r = Resolve(server->nodes().Root()->fd, *path);
  if (!r.ok()) return r.status();
  const std::string shown = audit::Escape(*path);
  if (!r->exists) return absl::NotFoundError(absl::StrCat("no file at \"", shown, "\""));
  if (!S_ISDIR(r->st.st_mode) && !S_ISREG(r->st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", shown, "\" is ", S_ISLNK(r->st.st_mode) ? "a symlink" : "a special file",
        ": grant a regular file or a directory"));
  }
  grant.set_path(*path);
  grant.set_directory(S_ISDIR(r->st.st_mode));
  grant.set_created_by_uid(caller.uid);
  uint64_t generation = 0;
  absl::StatusOr<v1::Grant> added = server->policy().AddGrant(
      std::move(grant), request.duration_seconds(), absl::ToUnixNanos(absl::Now()),
      &generation);
  if (!added.ok()) return added.status();
  AuditAdminAction(server, caller, *path, absl::StrCat("admin:grant-add:", added->id()));
  v1::AddGrantResponse response;
  *response.mutable_grant() = *std::move(added);
  response.set_generation(generation);
  return response;
}

absl::StatusOr<v1::RevokeGrantResponse> RevokeGrant(
    Server* server, const v1::RevokeGrantRequest& request,
    const AdminCaller& caller) {
  LosingHandles losing;
  uint64_t generation = 0;
  absl::StatusOr<v1::Grant> removed = server->policy().RevokeGrant(
      request.id(), &generation,
      RevocationCheck(server, /*refuse_unrevocable=*/false, &losing));
  if (!removed.ok()) return removed.status();
  AuditAdminAction(server, caller, removed->path(),
                   absl::StrCat("admin:grant-revoke:", removed->id()));
  NoteUnrevocable(server, losing);
  v1::RevokeGrantResponse response;
  *response.mutable_grant() = *std::move(removed);
  response.set_generation(generation);
  for (v1::Handle& h : losing.revocable) *response.add_revoked() = std::move(h);
  for (v1::Handle& h : losing.unrevocable) *response.add_unrevocable() = std::move(h);
  return response;
}

size_t ExpireGrants(Server* server) {
  const int64_t now = absl::ToUnixNanos(absl::Now());
  const int64_t next = server->policy().NextGrantExpiry();
  if (next == 0 || next > now) return 0;
  LosingHandles losing;
  const std::vector<v1::Grant> expired = server->policy().ExpireGrants(
      now, RevocationCheck(server, /*refuse_unrevocable=*/false, &losing));
  AdminCaller daemon;  // uid 0, no process: the daemon itself.
  daemon.where = "scopedfsd: grant expiry";
  for (const v1::Grant& g : expired) {
    AuditAdminAction(server, daemon, g.path(), absl::StrCat("admin:grant-expired:", g.id()));
  }
  NoteUnrevocable(server, losing);
  return expired.size();
}

}  // namespace scopedfs::admin
