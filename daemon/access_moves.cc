// Moves: rename and link. A name is a capability (the policy decides by
// path), so a move must not give the caller a right on the file that it
// lacks under the file's current name, and a directory moves everything
// below it. See "Moves" in access.h.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/access.h"
#include "daemon/access_target.h"
#include "daemon/log.h"

namespace scopedfs {
namespace {

// The operations whose verdicts a move compares. CREATE is left out: what
// may be created inside a directory is decided at its new place anyway.
constexpr v1::Operation kMoveOps[] = {v1::LOOKUP, v1::READ,   v1::WRITE,
                                      v1::DELETE, v1::RENAME, v1::SETATTR};

// How much a verdict gives: the real file, a redacted view, or nothing.
int Rank(v1::Action action) {
  switch (action) {
    case v1::ALLOW: return 2;
    case v1::ALLOW_REDACTED: return 1;
    default: return 0;
  }
}

// A refusal the daemon makes itself, for its audit row: DENY, with `why`
// where a rule id would be (the app is kept).
policy::Verdict Refusal(const policy::Verdict& like, const std::string* why) {
  policy::Verdict v;  // DENY
  v.app = like.app;
  v.rule_id = why;
  return v;
}

// Why a move was refused because the new name gives more: "move-widens-"
// and the operation ("move-widens-WRITE").
const std::string* Widens(v1::Operation op) {
  static const auto* const kWhy = [] {
    auto* why = new std::vector<std::string>();
    for (int o = 0; o <= v1::Operation_MAX; ++o) {
      why->push_back(absl::StrCat(
          "move-widens-", v1::Operation_Name(static_cast<v1::Operation>(o))));
    }
    return why;
  }();
  return &(*kWhy)[op];
}

const std::string kTreeTooLarge = "rename-tree-too-large";

// Closes a directory stream on scope exit.
struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

}  // namespace

bool AccessMediator::MoveKeepsRights(const policy::Engine& engine,
                                     const Caller& caller,
                                     const std::string& from_path,
                                     const std::string& to_path, bool is_dir,
                                     const Target& target,
                                     policy::Verdict* denied,
                                     v1::Operation* op) {
  // The owner record moves with the file (rename) or is copied (link), so
  // the caller owns it at the new name exactly when it owns it now.
  Target at_from = target;
  if (!at_from.owner.has_value()) {
    at_from.owner = false;
    if (audit_ != nullptr && engine.UsesOwnership() && target.ino != 0) {
      at_from.owner = audit_->owners().IsOwner(
          from_path, target.dev, target.ino,
          [&] { return target.BirthNanos(); }, caller.uid);
    }
  }
  for (v1::Operation o : kMoveOps) {
    const policy::Verdict now =
        Decide(engine, caller, from_path, o, is_dir, at_from);
    const policy::Verdict then =
        Decide(engine, caller, to_path, o, is_dir, at_from);
    if (Rank(then.action) > Rank(now.action)) {
      *denied = then;
      *op = o;
      return false;
    }
  }
  return true;
}

int AccessMediator::CheckTreeMove(const policy::Engine& engine,
                                  const Caller& caller, Node* from,
                                  absl::string_view name,
                                  const std::string& from_path,
                                  const std::string& to_path) {
  const uint64_t start = MonotonicNanos();
  // Depth first, relative to directory descriptors (never joined paths):
  // each stack entry is an open directory and its path below the moved one.
  struct Dir {
    int fd;
    std::string rel;  // "" for the moved directory itself, else "/a/b".
  };
  std::vector<Dir> stack;
  const int top = openat(from->fd, std::string(name).c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0) return errno;
  stack.push_back({top, ""});
  size_t entries = 0;
  int err = 0;
  policy::Verdict refused;
  std::string refused_path;
  const v1::Operation refused_op = v1::RENAME;
  while (!stack.empty() && err == 0) {
    Dir dir = std::move(stack.back());
    stack.pop_back();
    std::unique_ptr<DIR, DirCloser> stream(fdopendir(dir.fd));
    if (stream == nullptr) {
      close(dir.fd);
      err = errno;
      break;
    }
    while (err == 0) {
      errno = 0;
      const dirent* de = readdir(stream.get());
      if (de == nullptr) {
        err = errno;  // 0 at the end of the directory.
        break;
      }
      const absl::string_view entry = de->d_name;
      if (entry == "." || entry == "..") continue;
      if (++entries > kMaxRenameTreeEntries) {
        err = EXDEV;
        break;
      }
      struct stat st;
      if (fstatat(dirfd(stream.get()), de->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
          0) {
        if (errno == ENOENT) continue;  // Gone meanwhile: nothing to move.
        err = errno;
        break;
      }
      const std::string rel = absl::StrCat(dir.rel, "/", entry);
      const std::string old_path = from_path + rel;
      const std::string new_path = to_path + rel;
      const bool is_dir = S_ISDIR(st.st_mode);
      Target target;
      target.dev = st.st_dev;
      target.ino = st.st_ino;
      target.dirfd = dirfd(stream.get());
      target.name = entry;
      target.type = st.st_mode & S_IFMT;
      target.st = &st;
      target.content_class = access_internal::TypeClass(target.type);
      // Moving it: RENAME where it is, or DELETE there and CREATE at the new
      // place (MediaProvider refuses to move a directory holding files the
      // app could not move one by one).
      const policy::Verdict rename =
          Decide(engine, caller, old_path, v1::RENAME, is_dir, target);
      bool movable = ErrnoForAction(rename.action, v1::RENAME) == 0;
      if (!movable) {
        const policy::Verdict del =
            Decide(engine, caller, old_path, v1::DELETE, is_dir, target);
        Target fresh;
        fresh.content_class = target.content_class;
        movable =
            ErrnoForAction(del.action, v1::DELETE) == 0 &&
            ErrnoForAction(
                Decide(engine, caller, new_path, v1::CREATE, is_dir, fresh)
                    .action,
                v1::CREATE) == 0;
      }
      policy::Verdict wider;
      v1::Operation wider_op = v1::RENAME;
      if (!movable) {
        refused = rename;
        refused_path = old_path;
        err = EACCES;
      } else if (!MoveKeepsRights(engine, caller, old_path, new_path, is_dir,
                                  target, &wider, &wider_op)) {
        refused = Refusal(wider, Widens(wider_op));
        refused_path = new_path;
        err = EACCES;
      } else if (is_dir) {
        const int sub = openat(dirfd(stream.get()), de->d_name,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
          if (errno == ENOENT) continue;
          err = errno;
          break;
        }
        stack.push_back({sub, rel});
      }
    }
  }
  for (Dir& d : stack) close(d.fd);
  if (err == EXDEV) {
    SFS_LOG_EVERY_SEC(kInfo,
                      "rename of %s: more than %zu entries below it to check; "
                      "answering EXDEV (callers copy file by file instead)",
                      from_path, kMaxRenameTreeEntries);
    refused = Refusal(refused, &kTreeTooLarge);
    refused_path = from_path;
  }
  if (err == EACCES || err == EXDEV) {
    RecordOutcome(v1::DENY, refused_op);
    Finish(engine, caller, [&] { return refused_path; }, refused_op, 0,
           refused, err, MonotonicNanos() - start, AuditMode::kForced,
           std::nullopt);
  }
  return err;
}

int AccessMediator::CheckRename(const Caller& real_caller, Node* from,
                                absl::string_view name, const struct stat& src,
                                Node* to, absl::string_view newname,
                                const struct stat* dst, unsigned int flags) {
  const auto engine = policy_->engine();
  // Between trees (the shared mount and an app view, or two views) a name
  // would change identity: as between file systems (mv copies instead).
  if (from->app_uid != to->app_uid) return EXDEV;
  Caller caller;
  if (int err = ActingOnName(*engine, real_caller, from, name, &caller);
      err != 0) {
    return err;
  }
  if (int err = ActingOnName(*engine, real_caller, to, newname, &caller);
      err != 0) {
    return err;
  }
  const std::string from_path = ChildPath(from, name);
  const std::string to_path = ChildPath(to, newname);
  const bool is_dir = S_ISDIR(src.st_mode);
  const Target source = Target::Of(&src, from, name);
  // The source is renamed; the target is renamed over, or created if new.
  int err = CheckTarget(caller, *engine, from_path, v1::RENAME, is_dir, source,
                        AuditMode::kForced, 0);
  if (err == 0) {
    Target target = dst != nullptr ? Target::Of(dst, to, newname) : Target{};
    if (dst == nullptr) target.content_class = source.content_class;
    err = CheckTarget(caller, *engine, to_path,
                      dst != nullptr ? v1::RENAME : v1::CREATE, is_dir, target,
                      AuditMode::kForced, 0);
  }
  // A target hidden from the caller looked absent to it: never let a rename
  // replace (or exchange with) what the caller may not see.
  if (err == 0 && dst != nullptr &&
      CheckTarget(caller, *engine, to_path, v1::LOOKUP, S_ISDIR(dst->st_mode),
                  Target::Of(dst, to, newname), AuditMode::kIfRefused,
                  0) == ENOENT) {
    err = EACCES;
  }
  // Without rules every name gives the same: nothing to compare.
  if (err != 0 || engine->Bypasses(caller.uid) ||
      engine->policy().rules_size() == 0) {
    return err;
  }
  // The move itself: the file gains no right at its new name; with
  // RENAME_EXCHANGE the other file moves the other way, too.
  struct Move {
    const std::string* from;
    const std::string* to;
    Node* parent;
    absl::string_view name;
    const struct stat* st;
  };
  std::vector<Move> moves = {{&from_path, &to_path, from, name, &src}};
  if ((flags & RENAME_EXCHANGE) && dst != nullptr) {
    moves.push_back({&to_path, &from_path, to, newname, dst});
  }
  for (const Move& m : moves) {
    const uint64_t start = MonotonicNanos();
    const bool dir = S_ISDIR(m.st->st_mode);
    policy::Verdict wider;
    v1::Operation op = v1::RENAME;
    if (!MoveKeepsRights(*engine, caller, *m.from, *m.to, dir,
                         Target::Of(m.st, m.parent, m.name), &wider, &op)) {
      RecordOutcome(v1::DENY, v1::RENAME);
      Finish(*engine, caller, [&] { return *m.to; }, v1::RENAME, 0,
             Refusal(wider, Widens(op)), EACCES, MonotonicNanos() - start,
             AuditMode::kForced, std::nullopt);
      return EACCES;
    }
    if (dir) {
      if (int tree = CheckTreeMove(*engine, caller, m.parent, m.name, *m.from,
                                   *m.to);
          tree != 0) {
        return tree;
      }
    }
  }
  return 0;
}

int AccessMediator::CheckLink(const Caller& real_caller, Node* node, Node* to,
                              absl::string_view newname) {
  const auto engine = policy_->engine();
  if (node->app_uid != to->app_uid) return EXDEV;  // As for rename.
  Caller caller;
  if (int err = Acting(*engine, real_caller, node, &caller); err != 0) {
    return err;
  }
  if (int err = ActingOnName(*engine, real_caller, to, newname, &caller);
      err != 0) {
    return err;
  }
  const std::string to_path = ChildPath(to, newname);
  Target fresh;  // The new name: no file there yet, but this file's type.
  fresh.content_class = access_internal::TypeClass(node->type);
  int err = CheckTarget(caller, *engine, to_path, v1::CREATE, false, fresh,
                        AuditMode::kForced, 0);
  if (err != 0 || engine->Bypasses(caller.uid) ||
      engine->policy().rules_size() == 0) {
    return err;
  }
  // The new name must give no right the caller lacks on the file under the
  // name it reached it by: linking a readable photo into one's private
  // directory does not make it writable, nor does a passed descriptor of a
  // file one may not even see make it one's own.
  const uint64_t start = MonotonicNanos();
  const std::string from_path = nodes_->PathOf(node);
  policy::Verdict wider;
  v1::Operation op = v1::CREATE;
  if (!MoveKeepsRights(*engine, caller, from_path, to_path, false,
                       Target::Of(node), &wider, &op)) {
    RecordOutcome(v1::DENY, v1::CREATE);
    Finish(*engine, caller, [&] { return to_path; }, v1::CREATE, 0,
           Refusal(wider, Widens(op)), EACCES, MonotonicNanos() - start,
           AuditMode::kForced, std::nullopt);
    return EACCES;
  }
  return 0;
}

}  // namespace scopedfs
