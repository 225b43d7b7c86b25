#include "daemon/access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "audit/escape.h"
#include "daemon/access_target.h"
#include "daemon/app_views.h"
#include "daemon/log.h"
#include "daemon/open_no_atime.h"
#include "daemon/proc_fd_path.h"

namespace scopedfs {

using access_internal::BirthTimeAt;
using access_internal::TypeClass;

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

// The verdict for a file whose content a class condition needs but that
// cannot be read (or was replaced under us): no class we can vouch for.
policy::Verdict UnreadableContent(const std::string* app) {
  policy::Verdict deny;  // DENY, no rule.
  deny.app = app;
  return deny;
}

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

// For rule hit times and shadow expiry: a few milliseconds of resolution
// for a fraction of the cost, on every decision.
int64_t CoarseRealtimeNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

auto AccessMediator::NodeRedecide(const Caller& caller, Node* node,
                                  v1::Operation op) {
  return [this, &caller, node, op](const policy::Engine& other) {
    return Decide(other, caller, nodes_->PathOf(node), op,
                  node->type == S_IFDIR, Target::Of(node));
  };
}

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
  if (target.owner.has_value()) {
    req.caller_is_owner = *target.owner;
  } else if (target.ino != 0 && audit_ != nullptr && engine.UsesOwnership()) {
    req.caller_is_owner = audit_->owners().IsOwner(
        path, target.dev, target.ino, [&] { return target.BirthNanos(); },
        caller.uid);
  }
  if (target.content_class.has_value()) req.content_class = *target.content_class;
  const policy::Verdict verdict = engine.Decide(req);
  if (!verdict.class_consulted || target.type != S_IFREG ||
      target.content_class.has_value()) {
    return verdict;
  }
  // A class condition took part: the content, not the name, says what the
  // file is (a JPEG named "x.txt" is an IMAGE).
  const std::optional<v1::FileClass> content = target.ContentClass(contents_);
  if (!content.has_value()) return UnreadableContent(verdict.app);
  if (*content == v1::OTHER) return verdict;  // The name decided; so be it.
  req.content_class = *content;
  return engine.Decide(req);
}

void AccessMediator::Finish(const policy::Engine& engine, const Caller& caller,
                            absl::FunctionRef<std::string()> path_of,
                            v1::Operation op, int open_flags,
                            const policy::Verdict& verdict, int err,
                            uint64_t latency_nanos, AuditMode audit,
                            std::optional<Redecide> redecide,
                            std::string redaction) {
  stats_->decision_latency.Record(latency_nanos);
  const int64_t now = CoarseRealtimeNanos();
  CountHit(engine, verdict, err, now);
  // ESTALE: the kernel retries the open after a lookup; that one counts.
  if (redecide.has_value() && err != ESTALE) {
    if (auto shadow_engine = policy_->shadow().engine(now)) {
      ShadowPolicy& shadow = policy_->shadow();
      const policy::Verdict other = (*redecide)(*shadow_engine);
      shadow.Compared();
      if (ShadowPolicy::Differ(verdict, other)) {
        Stats::Add(stats_->shadow_differing);
        std::string path = path_of();
        shadow.Differed(verdict, other, audit::Escape(path));
        if (audit_ != nullptr && store_events_) {
          Audit(engine, caller, std::move(path), op, open_flags, verdict, err,
                latency_nanos, std::move(redaction), &other);
        }
        return;  // Stored with the shadow verdict: the one row it gets.
      }
    }
  }
  const bool trace = LogEnabled(LogLevel::kDebug);
  const bool audited =
      audit == AuditMode::kAlways || audit == AuditMode::kForced ||
      (audit == AuditMode::kIfRefused && err != 0);
  const bool stored_by_rule = verdict.audit || audit == AuditMode::kForced;
  if (!trace && !audited) return;
  if (audited && (audit_ == nullptr || !stored_by_rule || !store_events_)) {
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
               {"redaction", redaction},
               {"latency_ns", absl::StrCat(latency_nanos)}});
  }
  if (audited && audit_ != nullptr && stored_by_rule && store_events_) {
    Audit(engine, caller, std::move(path), op, open_flags, verdict, err,
          latency_nanos, std::move(redaction));
  }
}

void AccessMediator::CountHit(const policy::Engine& engine,
                              const policy::Verdict& verdict, int err,
                              int64_t now) {
  // Bypasses, malformed paths and verdicts no rule made are nobody's hit.
  if (verdict.rule_index < 0 && !verdict.by_default) return;
  const auto outcome = policy::RuleHits::OutcomeOf(verdict.action, err);
  const auto hits = policy_->hits();
  if (hits->generation() == engine.generation()) {
    hits->Count(verdict.rule_index, outcome, now);
  } else if (verdict.rule_id != nullptr) {
    hits->CountById(*verdict.rule_id, outcome, now);  // Raced with a swap.
  }
}

void AccessMediator::Audit(const policy::Engine& engine, const Caller& caller,
                           std::string path, v1::Operation op, int open_flags,
                           const policy::Verdict& verdict, int err,
                           uint64_t latency_nanos, std::string redaction,
                           const policy::Verdict* shadow) {
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
  e.redaction = std::move(redaction);
  if (shadow != nullptr) {
    e.shadow_decision = shadow->action;
    if (shadow->rule_id != nullptr) e.shadow_rule_id = *shadow->rule_id;
  }
  audit::ProcessInfoCache::Info info = process_info_.Lookup(caller.pid);
  e.comm = std::move(info.comm);
  e.exe = std::move(info.exe);
  audit_->Submit(std::move(e));
}

int AccessMediator::ActingOnName(const policy::Engine& engine,
                                 const Caller& caller, const Node* parent,
                                 absl::string_view name, Caller* acting) {
  if (int err = Acting(engine, caller, parent, acting); err != 0) return err;
  // The reserved `.apps` of a tree's root is neither made, renamed,
  // replaced nor removed through the mount.
  return IsReservedName(parent, name) ? EPERM : 0;
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
  // First by name alone (content_class UNSPECIFIED: no sniffing). Only if
  // a class condition took part does the content matter; it can change
  // without a name change (rewritten in place, even behind the daemon's
  // back), so its class is then part of the key (one fstat when the file
  // version's class is known).
  const bool classed = node->type == S_IFREG && engine.UsesClasses();
  const auto decide = [&](std::optional<v1::FileClass> content) {
    const int content_bits =
        content.has_value() ? (*content + 1) << 8 : 0;
    const policy::DecisionCache::Key key{
        caller.uid, caller.gid, node->cache_tag.load(),
        static_cast<int>(op) | content_bits, engine.generation()};
    if (auto cached = cache_.Get(key)) {
      Stats::Add(stats_->decision_cache_hits);
      return *cached;
    }
    Target target = Target::Of(node);
    if (content.has_value()) target.content_class = content;
    const policy::Verdict verdict =
        Decide(engine, caller, nodes_->PathOf(node), op, node->type == S_IFDIR,
               target);
    cache_.Put(key, verdict);
    return verdict;
  };
  const policy::Verdict by_name = decide(
      classed ? std::optional<v1::FileClass>(v1::FILE_CLASS_UNSPECIFIED)
              : std::nullopt);
  if (!classed || !by_name.class_consulted) return by_name;
  const std::optional<v1::FileClass> content = contents_.Of(node->fd);
  // Unreadable: fail closed, and do not cache it.
  if (!content.has_value()) return UnreadableContent(by_name.app);
  if (*content == v1::OTHER) return by_name;  // The name decides.
  return decide(content);
}

int AccessMediator::Acting(const policy::Engine& engine, const Caller& caller,
                           const Node* node, Caller* acting) {
  // `.apps` is made up: nothing in it can be changed, opened or decided.
  if (node->kind == NodeKind::kAppsDir) return EPERM;
  const int err = AdmitToView(engine, caller, node, acting);
  if (err != 0) Stats::Add(stats_->app_view_refusals);
  return err;
}

int AccessMediator::CheckNode(const Caller& real_caller, Node* node,
                              v1::Operation op, AuditMode audit) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  Caller caller;
  if (int err = Acting(*engine, real_caller, node, &caller); err != 0) {
    return err;
  }
  const policy::Verdict verdict = NodeVerdict(caller, node, op, *engine);
  const int err = RecordOutcome(verdict.action, op);
  Finish(*engine, caller, [&] { return nodes_->PathOf(node); }, op, 0, verdict,
         err, MonotonicNanos() - start, audit, NodeRedecide(caller, node, op));
  return err;
}

AccessMediator::OpenVerdict AccessMediator::CheckOpen(const Caller& real_caller,
                                                      Node* node,
                                                      v1::Operation op,
                                                      int open_flags) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  OpenVerdict out;
  Caller caller;
  if (out.err = Acting(*engine, real_caller, node, &caller); out.err != 0) {
    return out;
  }
  const policy::Verdict verdict = NodeVerdict(caller, node, op, *engine);
  std::string redaction;
  out.err = RecordOutcome(verdict.action, op);
  out.acting = caller;
  out.generation = engine->generation();
  if (verdict.app != nullptr) out.app = *verdict.app;
  if (verdict.redaction_profile != nullptr) out.profile = *verdict.redaction_profile;
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
      PlanView(*engine, verdict, node, &out, &redaction);
    }
  }
  // ESTALE is no answer the client sees: the kernel retries the open after
  // a fresh lookup, and that open is the one audited.
  Finish(*engine, caller, [&] { return nodes_->PathOf(node); }, op, open_flags,
         verdict, out.err, MonotonicNanos() - start,
         out.err == ESTALE ? AuditMode::kNever : AuditMode::kAlways,
         NodeRedecide(caller, node, op), std::move(redaction));
  return out;
}

namespace {

redact::Profile ProfileOf(const v1::RedactionProfile& p) {
  redact::Profile profile;
  profile.mode = p.mode() == v1::REDACTION_MODE_LOCATION_ONLY
                     ? redact::Profile::Mode::kLocationOnly
                     : redact::Profile::Mode::kAllowlist;
  profile.keep_capture_time = p.keep_capture_time();
  profile.exif_gps = p.exif_gps();
  profile.xmp_location = p.xmp_location();
  profile.video_location = p.video_location();
  return profile;
}

}  // namespace

void AccessMediator::PlanView(const policy::Engine& engine,
                              const policy::Verdict& verdict, Node* node,
                              OpenVerdict* out, std::string* described) {
  // Validation guarantees the profile exists; were it missing, the strictest
  // profile (the allowlist) applies.
  redact::Profile profile;
  std::string profile_name;
  for (const v1::RedactionProfile& p : engine.policy().redaction_profiles()) {
    if (verdict.redaction_profile != nullptr &&
        p.name() == *verdict.redaction_profile) {
      profile = ProfileOf(p);
      profile_name = p.name();
    }
  }
  const auto refuse = [&](const std::string& why) {
    SFS_LOG_EVERY_SEC(kWarning, "refusing a redacted open: %s", why);
    Stats::Add(stats_->redacted_opens_refused);
    *described = absl::StrCat("refused: ", why);
    out->err = EACCES;  // Fail closed: no view we cannot vouch for.
  };
  // The view's own read-only descriptor: the plan is made on it, and the
  // handle keeps it (O_NOATIME where allowed: reading metadata is no access
  // by the client).
  const int fd = OpenatNoAtime(AT_FDCWD, ProcFdPath(node->fd).c_str(),
                               O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    refuse(absl::StrCat("cannot read the file: ", std::strerror(errno)));
    return;
  }
  auto view = std::make_unique<RedactedView>(&redactions_, &open_writers_,
                                             stats_, profile);
  if (absl::Status planned = view->Prepare(fd); !planned.ok()) {
    refuse(std::string(planned.message()));
    close(fd);
    return;
  }
  *described = DescribeRedaction(profile_name, profile, *view->plan());
  out->fd = fd;
  out->view = std::move(view);
  Stats::Add(stats_->opens_redacted);
}

int AccessMediator::CheckName(const Caller& real_caller, Node* parent,
                              absl::string_view name, v1::Operation op,
                              bool is_dir, AuditMode audit, int open_flags,
                              const struct stat* existing) {
  const auto engine = policy_->engine();
  Caller caller;
  if (int err = ActingOnName(*engine, real_caller, parent, name, &caller);
      err != 0) {
    return err;
  }
  const std::string path = ChildPath(parent, name);
  Target target = Target::Of(existing, parent, name);
  struct stat st;
  if (existing == nullptr && op != v1::CREATE && audit_ != nullptr &&
      engine->UsesOwnership() &&
      fstatat(parent->fd, std::string(name).c_str(), &st,
              AT_SYMLINK_NOFOLLOW) == 0) {
    target = Target::Of(&st, parent, name);
  }
  return CheckTarget(caller, *engine, path, op, is_dir, target, audit,
                     open_flags);
}

int AccessMediator::CheckCreate(const Caller& real_caller, Node* parent,
                                absl::string_view name, mode_t type,
                                AuditMode audit, int open_flags) {
  const auto engine = policy_->engine();
  Caller caller;
  if (int err = ActingOnName(*engine, real_caller, parent, name, &caller);
      err != 0) {
    return err;
  }
  Target target;  // No file yet (ino 0), but its type's class.
  target.content_class = TypeClass(type);
  return CheckTarget(caller, *engine, ChildPath(parent, name), v1::CREATE,
                     type == S_IFDIR, target, audit, open_flags);
}

int AccessMediator::CheckTarget(const Caller& caller,
                                const policy::Engine& engine,
                                const std::string& path, v1::Operation op,
                                bool is_dir, const Target& target,
                                AuditMode audit, int open_flags) {
  const uint64_t start = MonotonicNanos();
  const policy::Verdict verdict =
      Decide(engine, caller, path, op, is_dir, target);
  int err = RecordOutcome(verdict.action, op);
  // A new name whose owner record could not be stored now (the audit
  // database's file system is full or failing; earlier changes wait in
  // memory for a retry): refused, before anything is made, with the errno
  // the client understands, rather than a file nobody would own.
  if (err == 0 && op == v1::CREATE && audit_ != nullptr) {
    if (const int store = audit_->OwnerStoreErrno(); store != 0) {
      SFS_LOG_EVERY_SEC(kWarning,
                        "refusing to create %s: the owner store cannot "
                        "record owners now (%s)",
                        path, std::strerror(store));
      err = store;
    }
  }
  Finish(engine, caller, [&] { return path; }, op, open_flags, verdict, err,
         MonotonicNanos() - start, audit, [&](const policy::Engine& other) {
           return Decide(other, caller, path, op, is_dir, target);
         });
  return err;
}

AccessMediator::LookupVerdict AccessMediator::CheckLookup(
    const Caller& real_caller, Node* parent, absl::string_view name,
    const struct stat& st, bool mediate, AuditMode audit) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  LookupVerdict out;
  Caller caller;
  if (out.err = Acting(*engine, real_caller, parent, &caller); out.err != 0) {
    return out;
  }
  // A backing `.apps` in a tree's root is shadowed: absent.
  if (IsReservedName(parent, name)) {
    out.err = ENOENT;
    return out;
  }
  const std::string path = ChildPath(parent, name);
  const mode_t type = st.st_mode & S_IFMT;
  const bool is_dir = type == S_IFDIR;
  const Target target = Target::Of(&st, parent, name);
  if (mediate) {
    const policy::Verdict verdict =
        Decide(*engine, caller, path, v1::LOOKUP, is_dir, target);
    out.err = RecordOutcome(verdict.action, v1::LOOKUP);
    Finish(*engine, caller, [&] { return path; }, v1::LOOKUP, 0, verdict,
           out.err, MonotonicNanos() - start, audit,
           [&](const policy::Engine& other) {
             return Decide(other, caller, path, v1::LOOKUP, is_dir, target);
           });
    if (out.err != 0) return out;
  }
  // In an app view every caller is the view's uid: the kernel may keep all.
  if (!parent->in_app_view()) {
    absl::string_view parent_path(path);  // ChildPath's "parent/name".
    parent_path.remove_suffix(name.size());
    if (!parent_path.empty()) parent_path.remove_suffix(1);  // The '/'.
    out.shared_cache_ok = EntryIsSameForAll(
        *engine, parent_path,
        OwnerUid(*engine, parent_path, Target::Of(parent)), name, path, target);
  }
  if (type == S_IFREG && engine->HasRedactionRules()) {
    out.redacted = WantsRedactedView(
        Decide(*engine, caller, path, v1::READ, false, target).action,
        Decide(*engine, caller, path, v1::WRITE, false, target).action);
  }
  return out;
}

std::optional<uint32_t> AccessMediator::OwnerUid(const policy::Engine& engine,
                                                 absl::string_view path,
                                                 const Target& target) {
  if (audit_ == nullptr || !engine.UsesOwnership() || target.ino == 0) {
    return std::nullopt;
  }
  const std::optional<audit::Owner> owner = audit_->owners().Get(
      path, target.dev, target.ino, [&] { return target.BirthNanos(); });
  if (!owner.has_value()) return std::nullopt;
  return owner->uid;
}

bool AccessMediator::EntryIsSameForAll(const policy::Engine& engine,
                                       absl::string_view parent_path,
                                       std::optional<uint32_t> parent_owner,
                                       absl::string_view name,
                                       absl::string_view path,
                                       const Target& child) {
  policy::EntryQuery q;
  q.parent = parent_path;
  q.name = name;
  q.is_dir = child.type == S_IFDIR;
  q.parent_owner = parent_owner;
  q.child_owner = OwnerUid(engine, path, child);
  if (child.content_class.has_value()) {
    q.content_class = *child.content_class;
  } else if (child.type == S_IFREG && engine.LookupUsesClasses()) {
    // A lookup would be decided by the content: so must this.
    const std::optional<v1::FileClass> content = child.ContentClass(contents_);
    if (!content.has_value()) return false;  // Unreadable: never shared.
    q.content_class = *content;
  }
  // Which view of a regular file a caller gets needs no timeout 0: an open
  // on the other view answers ESTALE, and the kernel looks the name up
  // again (fuse_dentry_revalidate honours LOOKUP_REVAL) and retries.
  return !engine.EntryVisibilityMayVary(q);
}

bool AccessMediator::ListingCacheAllowed(Node* dir) {
  if (dir->kind == NodeKind::kAppsDir) return false;  // Listed per caller.
  if (dir->in_app_view()) return true;  // One identity: the view's.
  return !policy_->engine()->ListingMayVary(nodes_->PathOf(dir));
}

std::optional<audit::Owner> OwnerRecordFor(int dirfd, absl::string_view name,
                                           const struct stat& st,
                                           const std::string* app,
                                           uint32_t uid) {
  const std::optional<int64_t> birth =
      BirthTimeAt(dirfd, std::string(name), st.st_ino);
  // Replaced behind our back already (or unreadable): record nothing, the
  // file counts as owned by nobody (fail closed).
  if (!birth.has_value()) return std::nullopt;
  audit::Owner owner;
  if (app != nullptr) owner.app = *app;
  owner.uid = uid;
  owner.dev = st.st_dev;
  owner.ino = st.st_ino;
  owner.birth_nanos = *birth;
  owner.time_unix_nanos = RealtimeNanos();
  return owner;
}

std::optional<int64_t> BirthNanosAt(int dirfd, absl::string_view name,
                                    uint64_t ino) {
  return BirthTimeAt(dirfd, std::string(name), ino);
}

void AccessMediator::NoteCreated(const Caller& real_caller, Node* parent,
                                 absl::string_view name,
                                 const struct stat& st) {
  if (audit_ == nullptr) return;
  const auto engine = policy_->engine();
  // In an app view the view's uid made it (only it and root get in).
  Caller caller;
  if (AdmitToView(*engine, real_caller, parent, &caller) != 0) return;
  std::optional<audit::Owner> owner =
      OwnerRecordFor(parent->fd, name, st,
                     engine->AppOf(caller.uid, caller.gid), caller.uid);
  if (!owner.has_value()) return;
  audit_->owners().Set(ChildPath(parent, name), *std::move(owner));
}

void AccessMediator::NoteLinked(Node* node, Node* to,
                                absl::string_view newname,
                                const struct stat& st) {
  if (audit_ == nullptr) return;
  const Target source = Target::Of(node);
  const std::optional<audit::Owner> owner = audit_->owners().Get(
      nodes_->PathOf(node), source.dev, source.ino,
      [&] { return source.BirthNanos(); });
  // No record (or a stale one): the new name has none either. A link never
  // makes the linking caller an owner.
  if (!owner.has_value() || st.st_ino != source.ino) return;
  audit_->owners().Set(ChildPath(to, newname), *owner);
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

// ---- Operations on a node, through any descriptor ----

namespace {

bool IsSystemUid(const policy::Engine& engine, uint32_t uid) {
  for (uint32_t system : engine.policy().system_uids()) {
    if (system == uid) return true;
  }
  return false;
}

// A policy with no rules and ALLOW by default (the allow-all policy) draws
// no line between callers: nothing for a planted symlink to cross.
bool HasPolicyDomains(const policy::Engine& engine) {
  return engine.policy().rules_size() > 0 ||
         engine.policy().default_action() != v1::ALLOW;
}

}  // namespace

int AccessMediator::CheckVisible(const Caller& caller, Node* node) {
  // The roots are always visible: the mount point itself, `.apps`, and a
  // view's root to those who may enter it.
  if (node == nodes_->Root() || node->kind == NodeKind::kAppsDir) return 0;
  if (node->kind == NodeKind::kViewRoot) {
    Caller acting;
    return Acting(*policy_->engine(), caller, node, &acting);
  }
  return CheckNode(caller, node, v1::LOOKUP, AuditMode::kIfRefused);
}

bool AccessMediator::AccessStands(const policy::Engine& engine,
                                  const Caller& caller, Node* node,
                                  v1::Operation op,
                                  const std::string* view_profile,
                                  policy::Verdict* verdict_out) {
  const auto decide = [&](v1::Operation o) {
    return Decide(engine, caller, nodes_->PathOf(node), o, node->type == S_IFDIR,
                  Target::Of(node));
  };
  const policy::Verdict verdict = decide(op);
  if (verdict_out != nullptr) *verdict_out = verdict;
  if (verdict.action == v1::ALLOW) return true;
  if (verdict.action != v1::ALLOW_REDACTED || op != v1::READ) return false;
  if (view_profile != nullptr) {
    // The view shows what its own profile left: only the same one stands.
    return verdict.redaction_profile != nullptr &&
           *verdict.redaction_profile == *view_profile;
  }
  // The real file, read by a caller redacted for reading: only while it
  // may write it (the view rule).
  return decide(v1::WRITE).action == v1::ALLOW;
}

int AccessMediator::RecheckHandle(const Caller& caller, Node* node,
                                  v1::Operation op,
                                  const std::string* view_profile) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  policy::Verdict verdict;
  if (AccessStands(*engine, caller, node, op, view_profile, &verdict)) return 0;
  Finish(*engine, caller, [&] { return nodes_->PathOf(node); }, op, 0, verdict,
         EACCES, MonotonicNanos() - start, AuditMode::kForced, std::nullopt,
         "revoked: an open handle");
  return EACCES;
}

Caller AccessMediator::ActingCaller(const Caller& real, const Node* node) {
  Caller acting;
  if (AdmitToView(*policy_->engine(), real, node, &acting) != 0) return real;
  return acting;
}

int AccessMediator::CheckXattrValues(const Caller& real_caller, Node* node,
                                     AuditMode audit) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  Caller caller;
  if (int err = Acting(*engine, real_caller, node, &caller); err != 0) {
    return err;
  }
  const policy::Verdict verdict = NodeVerdict(caller, node, v1::READ, *engine);
  const int err = RecordOutcome(verdict.action, v1::READ);
  Finish(*engine, caller, [&] { return nodes_->PathOf(node); }, v1::READ, 0,
         verdict, err, MonotonicNanos() - start, audit,
         NodeRedecide(caller, node, v1::READ));
  if (err != 0) return err;
  // The view rule of lookups and opens: a caller the policy lets write the
  // file reads the real one, and so its attributes.
  if (verdict.action == v1::ALLOW_REDACTED &&
      WantsRedactedView(verdict.action,
                        NodeVerdict(caller, node, v1::WRITE, *engine).action)) {
    return ENODATA;
  }
  return 0;
}

int AccessMediator::CheckFollow(const Caller& real_caller, Node* node) {
  const uint64_t start = MonotonicNanos();
  const auto engine = policy_->engine();
  Caller caller;
  if (int err = Acting(*engine, real_caller, node, &caller); err != 0) {
    return err;
  }
  if (caller.uid == 0 || IsSystemUid(*engine, caller.uid) ||
      !HasPolicyDomains(*engine)) {
    return 0;
  }
  struct stat st;
  if (fstatat(node->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    return errno;
  }
  if (st.st_uid == caller.uid || st.st_uid == 0 ||
      IsSystemUid(*engine, st.st_uid)) {
    return 0;
  }
  // Planted by another uid: following it would let that uid choose what
  // this caller's open, write or rename lands on (a confused deputy).
  static const std::string* const kRule = new std::string("protected-symlink");
  policy::Verdict verdict;  // DENY; audited (no rule can say otherwise).
  verdict.rule_id = kRule;
  verdict.app = engine->AppOf(caller.uid, caller.gid);
  const int err = RecordOutcome(verdict.action, v1::READ);
  Finish(*engine, caller, [&] { return nodes_->PathOf(node); }, v1::READ, 0,
         verdict, err, MonotonicNanos() - start, AuditMode::kAlways,
         std::nullopt);
  return err;
}

}  // namespace scopedfs
