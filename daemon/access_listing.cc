// Listings (daemon/access.h, AccessMediator::Listing): the one decision per
// entry a readdir makes, without building a path string per entry.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "daemon/access.h"
#include "daemon/access_target.h"

namespace scopedfs {

AccessMediator::Listing::Listing(AccessMediator* access, const Caller& caller,
                                 Node* parent)
    : access_(access),
      caller_(caller),
      parent_(parent),
      engine_(access->policy_->engine()),
      path_(access->ChildPath(parent, "")) {
  if (!path_.empty()) path_.push_back('/');
  prefix_ = path_.size();
  path_.reserve(prefix_ + NAME_MAX + 1);
}

AccessMediator::Listing::Entry AccessMediator::Listing::Check(
    absl::string_view name, unsigned char d_type) {
  const uint64_t start = MonotonicNanos();
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
                  verdict, out.err, MonotonicNanos() - start, AuditMode::kNever);
  const bool regular = d_type == DT_REG || (d_type == DT_UNKNOWN && S_ISREG(st.st_mode));
  out.shared_cache_ok = EntryIsSameForAll(engine, path_, regular);
  return out;
}

}  // namespace scopedfs
