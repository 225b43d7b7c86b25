// Listings (daemon/access.h, AccessMediator::Listing): the one decision per
// entry a readdir makes, without building a path string per entry.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "daemon/access.h"
#include "daemon/access_target.h"
#include "daemon/app_views.h"

namespace scopedfs {

AccessMediator::Listing::Listing(AccessMediator* access, const Caller& caller,
                                 Node* parent)
    : access_(access),
      parent_(parent),
      engine_(access->policy_->engine()),
      path_(access->ChildPath(parent, "")) {
  // The caller was admitted (CheckVisible) before it lists; in an app view
  // the listing is the view uid's.
  admitted_ = access->Acting(*engine_, caller, parent, &caller_) == 0;
  if (!parent->in_app_view()) {
    parent_owner_ = access->OwnerUid(*engine_, path_, Target::Of(parent));
  }
  if (!path_.empty()) path_.push_back('/');
  prefix_ = path_.size();
  path_.reserve(prefix_ + NAME_MAX + 1);
}

AccessMediator::Listing::Entry AccessMediator::Listing::Check(
    absl::string_view name, unsigned char d_type) {
  const uint64_t start = MonotonicNanos();
  if (!admitted_) return Entry{ENOENT, false};
  // A backing `.apps` in a tree's root is shadowed.
  if (IsReservedName(parent_, name)) return Entry{ENOENT, false};
  path_.resize(prefix_);
  path_.append(name.data(), name.size());
  const policy::Engine& engine = *engine_;
  // The status only where the policy can use it: the owner store needs the
  // inode, a class condition the content (a lookup decides with both, and
  // so must a listing, or it would show a name a lookup hides).
  const bool needs_status =
      engine.UsesOwnership() || (engine.UsesClasses() && d_type != DT_DIR);
  struct stat st;
  Target target;
  bool is_dir = d_type == DT_DIR;
  if (needs_status || d_type == DT_UNKNOWN) {
    // The name is NUL-terminated where readdir left it.
    if (fstatat(parent_->fd, name.data(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Entry{ENOENT, true};  // Gone since readdir saw it.
    }
    target = Target::Of(&st, parent_, name);
    is_dir = S_ISDIR(st.st_mode);
  }
  const policy::Verdict verdict =
      access_->Decide(engine, caller_, path_, v1::LOOKUP, is_dir, target);
  Entry out;
  out.err = access_->RecordOutcome(verdict.action, v1::LOOKUP);
  access_->Finish(engine, caller_, [&] { return path_; }, v1::LOOKUP, 0,
                  verdict, out.err, MonotonicNanos() - start, AuditMode::kNever,
                  [&](const policy::Engine& other) {
                    return access_->Decide(other, caller_, path_, v1::LOOKUP,
                                           is_dir, target);
                  });
  if (!parent_->in_app_view()) {
    if (target.ino == 0) {  // Not stated above: the type is all we know.
      target.type = is_dir ? S_IFDIR : DTTOIF(d_type);
      target.content_class = access_internal::TypeClass(target.type);
    }
    const absl::string_view parent_path(path_.data(),
                                        prefix_ == 0 ? 0 : prefix_ - 1);
    out.shared_cache_ok = access_->EntryIsSameForAll(
        engine, parent_path, parent_owner_, name, path_, target);
  }
  return out;
}

}  // namespace scopedfs
