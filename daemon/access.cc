#include "daemon/access.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <time.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/log.h"

namespace scopedfs {

Caller CallerOf(fuse_req* req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Caller{ctx->uid, ctx->gid, static_cast<uint32_t>(ctx->pid)};
}

int ErrnoForAction(v1::Action action, v1::Operation op) {
  switch (action) {
    case v1::ALLOW:
      return 0;
    case v1::ALLOW_REDACTED:
      // Visible, and readable through the redacted view (CheckOpen); any
      // other operation it is the verdict for is refused (fail closed).
      return op == v1::LOOKUP || op == v1::READ ? 0 : EACCES;
    case v1::HIDE:
      return ENOENT;
    case v1::DENY:
    default:
      return EACCES;
  }
}

namespace {

// The birth time (statx btime) of `name` under `dirfd` ("": `dirfd` itself)
// if it is still inode `ino`: 0 if its file system keeps none; nullopt if
// it cannot be told (gone, replaced, or statx failed).
std::optional<int64_t> BirthTimeAt(int dirfd, const std::string& name,
                                   uint64_t ino) {
  struct statx stx;
  const int flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
  if (statx(dirfd, name.c_str(), flags, STATX_INO | STATX_BTIME, &stx) != 0 ||
      stx.stx_ino != ino) {
    return std::nullopt;
  }
  if ((stx.stx_mask & STATX_BTIME) == 0) return 0;
  return static_cast<int64_t>(stx.stx_btime.tv_sec) * 1000000000 +
         stx.stx_btime.tv_nsec;
}

}  // namespace

// The file a decision is about, for the owner store: (dev, ino), ino 0 when
// the name does not exist (yet), and where to ask for its birth time (only
// asked when an owner record keeps one): `name` under `dirfd`, or `dirfd`
// itself when `name` is empty.
struct AccessMediator::Target {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int dirfd = -1;
  absl::string_view name;

  static Target Of(const Node* node) {
    return {node->dev, node->ino, node->fd, {}};
  }
  static Target Of(const struct stat* st, const Node* parent,
                   absl::string_view name) {
    if (st == nullptr) return Target{};
    return {st->st_dev, st->st_ino, parent->fd, name};
  }
  std::optional<int64_t> BirthNanos() const {
    return BirthTimeAt(dirfd, std::string(name), ino);
  }
};

namespace {

// The view rule, shared by lookups and opens: a caller reads the redacted
// view when reading is only allowed redacted and writing is not granted (a
// caller the policy lets write gets the real file).
bool WantsRedactedView(v1::Action read, v1::Action write) {
  return read == v1::ALLOW_REDACTED && write != v1::ALLOW;
}

int64_t RealtimeNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

policy::Verdict AccessMediator::Decide(const policy::Engine& engine,
                                       const Caller& caller,
                                       absl::string_view path, v1::Operation op,
                                       bool is_dir, const Target& target) {
  policy::Request req;
  req.uid = caller.uid;
  req.gid = caller.gid;
  req.path = path;
  req.op = op;
  req.is_dir = is_dir;
  if (target.ino != 0 && audit_ != nullptr && engine.UsesOwnership()) {
    const std::string* app = engine.AppOf(caller.uid, caller.gid);
    req.caller_is_owner = audit_->owners().IsOwner(
        path, target.dev, target.ino, [&] { return target.BirthNanos(); },
        app != nullptr ? *app : "", caller.uid);
  }
  return engine.Decide(req);
}

void AccessMediator::Finish(const policy::Engine& engine, const Caller& caller,
                            absl::FunctionRef<std::string()> path_of,
                            v1::Operation op, int open_flags,
                            const policy::Verdict& verdict, int err,
                            uint64_t latency_nanos, AuditMode audit) {
  stats_->decision_latency.Record(latency_nanos);
  const bool trace = LogEnabled(LogLevel::kDebug);
  const bool audited =
      audit == AuditMode::kAlways || (audit == AuditMode::kIfRefused && err != 0);
  if (!trace && !audited) return;
  if (audited && (audit_ == nullptr || !verdict.audit || !store_events_)) {
    if (audit_ != nullptr) audit_->CountUnstored();
    if (!trace) return;  // The path is not needed: spare building it.
  }
  std::string path = path_of();
  if (trace) {
    LogFields(LogLevel::kDebug, "decision",
              {{"op", v1::Operation_Name(op)},
               {"path", path},
               {"uid", absl::StrCat(caller.uid)},
               {"pid", absl::StrCat(caller.pid)},
               {"app", verdict.app != nullptr ? *verdict.app : ""},
               {"action", v1::Action_Name(verdict.action)},
               {"rule", verdict.rule_id != nullptr ? *verdict.rule_id : ""},
               {"errno", absl::StrCat(err)},
               {"latency_ns", absl::StrCat(latency_nanos)}});
  }
  if (audited && audit_ != nullptr && verdict.audit && store_events_) {
    Audit(engine, caller, std::move(path), op, open_flags, verdict, err,
          latency_nanos);
  }
}

void AccessMediator::Audit(const policy::Engine& engine, const Caller& caller,
                           std::string path, v1::Operation op, int open_flags,
                           const policy::Verdict& verdict, int err,
                           uint64_t latency_nanos) {
  audit::Event e;
  e.time_unix_nanos = RealtimeNanos();
  e.uid = caller.uid;
  e.gid = caller.gid;
  e.pid = caller.pid;
  e.operation = op;
  e.open_flags = open_flags;
  e.decision = verdict.action;
  e.error = err;
  e.policy_generation = engine.generation();
  e.latency_nanos = latency_nanos;
  e.path = std::move(path);
  if (verdict.app != nullptr) e.app = *verdict.app;
  if (verdict.rule_id != nullptr) e.rule_id = *verdict.rule_id;
  audit::ProcessInfoCache::Info info = process_info_.Lookup(caller.pid);
  e.comm = std::move(info.comm);
  e.exe = std::move(info.exe);
  audit_->Submit(std::move(e));
}

std::string AccessMediator::ChildPath(Node* parent,
                                      absl::string_view name) const {
  std::string path = nodes_->PathOf(parent);
  if (!name.empty()) absl::StrAppend(&path, path.empty() ? "" : "/", name);
  return path;
}

int AccessMediator::RecordOutcome(v1::Action action, v1::Operation op) {
  const int err = ErrnoForAction(action, op);
  stats_->CountDecision(op, action);
  switch (action) {
    case v1::ALLOW: Stats::Add(stats_->decisions_allow); break;
    case v1::HIDE: Stats::Add(stats_->decisions_hide); break;
    case v1::ALLOW_REDACTED:
      Stats::Add(err == 0 ? stats_->decisions_allow
                          : stats_->decisions_redacted_denied);
      break;
    default: Stats::Add(stats_->decisions_deny); break;
  }
  return err;
}

policy::Verdict AccessMediator::NodeVerdict(const Caller& caller, Node* node,
                                            v1::Operation op,
                                            const policy::Engine& engine) {
  // The owner store only changes a node's verdict through a name change,
  // which renews its cache tag (or clears the cache, for directories).
  const policy::DecisionCache::Key key{caller.uid, caller.gid,
                                       node->cache_tag.load(),
                                       static_cast<int>(op),
                                       engine.generation()};
  if (auto cached = cache_.Get(key)) {
    Stats::Add(stats_->decision_cache_hits);
    return *cached;
  }
  const policy::Verdict verdict =
      Decide(engine, caller, nodes_->PathOf(node), op, node->type == S_IFDIR,
             Target::Of(node));
  cache_.Put(key, verdict);
  return verdict;
}

int AccessMediator::CheckNode(const Caller& caller, Node* node,
                              v1::Operation op) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  const policy::Verdict verdict = NodeVerdict(caller, node, op, *engine);
  const int err = RecordOutcome(verdict.action, op);
  Finish(*engine, caller, [&] { return nodes_->PathOf(node); }, op, 0, verdict,
         err, MonotonicNanos() - start, AuditMode::kAlways);
  return err;
}

AccessMediator::OpenVerdict AccessMediator::CheckOpen(const Caller& caller,
                                                      Node* node,
                                                      v1::Operation op,
                                                      int open_flags) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  const policy::Verdict verdict = NodeVerdict(caller, node, op, *engine);
  OpenVerdict out;
  out.err = RecordOutcome(verdict.action, op);
  if (out.err == 0) {
    const bool wants_redacted =
        verdict.action == v1::ALLOW_REDACTED &&  // Spares the WRITE decision.
        WantsRedactedView(verdict.action,
                          NodeVerdict(caller, node, v1::WRITE, *engine).action);
    if (node->redacted_view != wants_redacted) {
      // Reached through the other view (the kernel cached a name another
      // caller looked up): make the kernel look it up again for this caller.
      out.err = ESTALE;
    } else if (wants_redacted && op != v1::READ) {
      out.err = EACCES;  // No writes through a redacted view.
    } else if (wants_redacted) {
      out.redacted = true;
      for (const v1::RedactionProfile& p :
           engine->policy().redaction_profiles()) {
        if (verdict.redaction_profile != nullptr &&
            p.name() == *verdict.redaction_profile) {
          out.profile.exif_gps = p.exif_gps();
          out.profile.xmp_location = p.xmp_location();
          out.profile.video_location = p.video_location();
        }
      }
      Stats::Add(stats_->opens_redacted);
    }
  }
  // ESTALE is no answer the client sees: the kernel retries the open after
  // a fresh lookup, and that open is the one audited.
  Finish(*engine, caller, [&] { return nodes_->PathOf(node); }, op, open_flags,
         verdict, out.err, MonotonicNanos() - start,
         out.err == ESTALE ? AuditMode::kNever : AuditMode::kAlways);
  return out;
}

int AccessMediator::CheckName(const Caller& caller, Node* parent,
                              absl::string_view name, v1::Operation op,
                              bool is_dir, AuditMode audit, int open_flags,
                              const struct stat* existing) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  const std::string path = ChildPath(parent, name);
  Target target = Target::Of(existing, parent, name);
  struct stat st;
  if (existing == nullptr && op != v1::CREATE && audit_ != nullptr &&
      engine->UsesOwnership() &&
      fstatat(parent->fd, std::string(name).c_str(), &st,
              AT_SYMLINK_NOFOLLOW) == 0) {
    target = Target::Of(&st, parent, name);
  }
  const policy::Verdict verdict =
      Decide(*engine, caller, path, op, is_dir, target);
  const int err = RecordOutcome(verdict.action, op);
  Finish(*engine, caller, [&] { return path; }, op, open_flags, verdict, err,
         MonotonicNanos() - start, audit);
  return err;
}

AccessMediator::LookupVerdict AccessMediator::CheckLookup(
    const Caller& caller, Node* parent, absl::string_view name,
    const struct stat& st, bool mediate, AuditMode audit) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  const std::string path = ChildPath(parent, name);
  const mode_t type = st.st_mode & S_IFMT;
  const bool is_dir = type == S_IFDIR;
  const Target target = Target::Of(&st, parent, name);
  LookupVerdict out;
  out.shared_cache_ok = !engine->VisibilityMayVary(path);
  if (mediate) {
    const policy::Verdict verdict =
        Decide(*engine, caller, path, v1::LOOKUP, is_dir, target);
    out.err = RecordOutcome(verdict.action, v1::LOOKUP);
    Finish(*engine, caller, [&] { return path; }, v1::LOOKUP, 0, verdict,
           out.err, MonotonicNanos() - start, audit);
    if (out.err != 0) return out;
  }
  if (type == S_IFREG && engine->HasRedactionRules()) {
    out.shared_cache_ok = false;  // Some caller may get the other view.
    out.redacted = WantsRedactedView(
        Decide(*engine, caller, path, v1::READ, false, target).action,
        Decide(*engine, caller, path, v1::WRITE, false, target).action);
  }
  return out;
}

bool AccessMediator::SharedCacheAllowed(Node* parent, absl::string_view name) {
  return !policy_->engine()->VisibilityMayVary(ChildPath(parent, name));
}

void AccessMediator::NoteCreated(const Caller& caller, Node* parent,
                                 absl::string_view name,
                                 const struct stat& st) {
  if (audit_ == nullptr) return;
  const std::optional<int64_t> birth =
      BirthTimeAt(parent->fd, std::string(name), st.st_ino);
  // Replaced behind our back already (or unreadable): record nothing, the
  // file counts as owned by nobody (fail closed).
  if (!birth.has_value()) return;
  const auto engine = policy_->engine();
  const std::string* app = engine->AppOf(caller.uid, caller.gid);
  audit::Owner owner;
  if (app != nullptr) owner.app = *app;
  owner.uid = caller.uid;
  owner.dev = st.st_dev;
  owner.ino = st.st_ino;
  owner.birth_nanos = *birth;
  owner.time_unix_nanos = RealtimeNanos();
  audit_->owners().Set(ChildPath(parent, name), std::move(owner));
}

void AccessMediator::NoteRemoved(Node* parent, absl::string_view name) {
  if (audit_ == nullptr) return;
  // A directory is empty when rmdir succeeds; RemoveTree also sweeps
  // records left below it by changes behind the daemon's back.
  audit_->owners().RemoveTree(ChildPath(parent, name));
}

void AccessMediator::NoteRenamed(Node* from, absl::string_view name, Node* to,
                                 absl::string_view newname, bool exchange) {
  if (audit_ == nullptr) return;
  const std::string a = ChildPath(from, name);
  const std::string b = ChildPath(to, newname);
  if (exchange) {
    audit_->owners().Exchange(a, b);
  } else {
    audit_->owners().MoveTree(a, b);
  }
}

}  // namespace scopedfs
