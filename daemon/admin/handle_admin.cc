#include "daemon/admin/handle_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "audit/escape.h"
#include "audit/path_util.h"
#include "audit/process_info.h"
#include "daemon/access.h"

namespace scopedfs::admin {
namespace {

const char* ServedBy(const FileHandle& h) {
  if (h.mode == OpenMode::kPassthrough) return "passthrough";
  return h.owner.direct_io ? "daemon" : "daemon-cached";
}

// `h` as the API shows it; its node is alive while the handle table's lock
// is held (the kernel forgets a node only after releasing its opens).
v1::Handle ToProto(Server& server, const FileHandle& h,
                   audit::ProcessInfoCache* names, absl::Time now) {
  v1::Handle out;
  out.set_id(h.owner.id);
  out.set_uid(h.owner.uid);
  out.set_gid(h.owner.gid);
  out.set_pid(h.owner.pid);
  out.set_comm(names->Lookup(h.owner.pid, now).comm);
  out.set_app(h.owner.app);
  if (Node* node = server.nodes().Get(h.owner.node_id)) {
    out.set_path(audit::Escape(server.nodes().PathOf(node)));
  }
  out.set_opened_unix_nanos(h.owner.opened_unix_nanos);
  out.set_write(h.writable);
  out.set_served_by(ServedBy(h));
  out.set_direct_io(h.owner.direct_io);
  out.set_redacted(h.redacted != nullptr || h.copy != nullptr);
  out.set_revocable(h.revocable());
  out.set_revoked(h.revoked.load(std::memory_order_relaxed));
  return out;
}

void SortByAge(std::vector<v1::Handle>* handles) {
  std::sort(handles->begin(), handles->end(),
            [](const v1::Handle& a, const v1::Handle& b) { return a.id() < b.id(); });
}

}  // namespace

v1::ListHandlesResponse ListHandles(Server& server,
                                    const v1::ListHandlesRequest& filter) {
  audit::ProcessInfoCache names;
  const absl::Time now = absl::Now();
  const absl::StatusOr<std::string> raw_prefix = audit::Unescape(filter.path_prefix());
  const absl::string_view prefix = audit::internal::NormalizePrefix(
      raw_prefix.ok() ? *raw_prefix : filter.path_prefix());
  std::vector<v1::Handle> handles;
  server.handles().ForEach([&](const FileHandle& h) {
    if (!filter.app().empty() && h.owner.app != filter.app()) return;
    if (filter.has_uid() && h.owner.uid != filter.uid()) return;
    v1::Handle shown = ToProto(server, h, &names, now);
    if (!prefix.empty()) {
      const absl::StatusOr<std::string> path = audit::Unescape(shown.path());
      if (!path.ok() || !audit::internal::PathIsUnder(*path, prefix)) return;
    }
    handles.push_back(std::move(shown));
  });
  SortByAge(&handles);
  v1::ListHandlesResponse response;
  for (v1::Handle& h : handles) *response.add_handles() = std::move(h);
  return response;
}

LosingHandles HandlesLosingAccess(Server& server, const policy::Engine& next) {
  audit::ProcessInfoCache names;
  const absl::Time now = absl::Now();
  LosingHandles out;
  server.handles().ForEach([&](const FileHandle& h) {
    if (h.revoked.load(std::memory_order_relaxed)) return;
    Node* node = server.nodes().Get(h.owner.node_id);
    if (node == nullptr) return;
    const Caller caller{h.owner.uid, h.owner.gid, h.owner.pid};
    const bool view = h.redacted != nullptr || h.copy != nullptr;
    if (server.access().AccessStands(next, caller, node, h.owner.op,
                                     view ? &h.owner.view_profile : nullptr)) {
      return;
    }
    (h.revocable() ? out.revocable : out.unrevocable)
        .push_back(ToProto(server, h, &names, now));
  });
  SortByAge(&out.revocable);
  SortByAge(&out.unrevocable);
  return out;
}

std::string DescribeHandle(const v1::Handle& h) {
  return absl::StrCat("pid ", h.pid(), h.comm().empty() ? "" : absl::StrCat(" (", h.comm(), ")"),
                      ", uid ", h.uid(),
                      h.app().empty() ? "" : absl::StrCat(", app ", h.app()), ": ",
                      h.write() ? "write " : "read ", h.path());
}

PolicyStore::Check RevocationCheck(Server* server, bool refuse_unrevocable,
                                   LosingHandles* out) {
  return [server, refuse_unrevocable, out](const policy::Engine& next) {
    *out = HandlesLosingAccess(*server, next);
    if (!refuse_unrevocable || out->unrevocable.empty()) return absl::OkStatus();
    std::vector<std::string> which;
    for (const v1::Handle& h : out->unrevocable) which.push_back(DescribeHandle(h));
    return absl::FailedPreconditionError(absl::StrCat(
        out->unrevocable.size(),
        " open handles served by kernel passthrough would keep an access "
        "this change removes (the daemon cannot revoke them): ",
        absl::StrJoin(which, "; "),
        ". Nothing was changed: close them first, or change without --revoke"));
  };
}

}  // namespace scopedfs::admin
