#include "daemon/access.h"

#include <fuse_lowlevel.h>

#include "absl/strings/str_cat.h"

namespace scopedfs {

Caller CallerOf(fuse_req* req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Caller{ctx->uid, ctx->gid};
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

// The view rule, shared by lookups and opens: a caller reads the redacted
// view when reading is only allowed redacted and writing is not granted (a
// caller the policy lets write gets the real file).
bool WantsRedactedView(v1::Action read, v1::Action write) {
  return read == v1::ALLOW_REDACTED && write != v1::ALLOW;
}

policy::Verdict Evaluate(const policy::Engine& engine, const Caller& caller,
                         absl::string_view path, v1::Operation op,
                         bool is_dir) {
  policy::Request req;
  req.uid = caller.uid;
  req.gid = caller.gid;
  req.path = path;
  req.op = op;
  req.is_dir = is_dir;
  return engine.Decide(req);
}

}  // namespace

std::string AccessMediator::ChildPath(Node* parent,
                                      absl::string_view name) const {
  std::string path = nodes_->PathOf(parent);
  if (!name.empty()) absl::StrAppend(&path, path.empty() ? "" : "/", name);
  return path;
}

int AccessMediator::RecordOutcome(v1::Action action, v1::Operation op) {
  const int err = ErrnoForAction(action, op);
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
  const policy::DecisionCache::Key key{caller.uid, caller.gid,
                                       node->cache_tag.load(),
                                       static_cast<int>(op),
                                       engine.generation()};
  if (auto cached = cache_.Get(key)) {
    Stats::Add(stats_->decision_cache_hits);
    return *cached;
  }
  const policy::Verdict verdict = Evaluate(
      engine, caller, nodes_->PathOf(node), op, node->type == S_IFDIR);
  cache_.Put(key, verdict);
  return verdict;
}

int AccessMediator::CheckNode(const Caller& caller, Node* node,
                              v1::Operation op) {
  const auto engine = policy_->engine();
  return RecordOutcome(NodeVerdict(caller, node, op, *engine).action, op);
}

AccessMediator::OpenVerdict AccessMediator::CheckOpen(const Caller& caller,
                                                      Node* node,
                                                      v1::Operation op) {
  const auto engine = policy_->engine();
  const policy::Verdict verdict = NodeVerdict(caller, node, op, *engine);
  OpenVerdict out;
  out.err = RecordOutcome(verdict.action, op);
  if (out.err != 0) return out;
  const bool wants_redacted =
      verdict.action == v1::ALLOW_REDACTED &&  // Spares the WRITE decision.
      WantsRedactedView(verdict.action,
                        NodeVerdict(caller, node, v1::WRITE, *engine).action);
  if (node->redacted_view != wants_redacted) {
    // Reached through the other view (the kernel cached a name another
    // caller looked up): make the kernel look it up again for this caller.
    out.err = ESTALE;
    return out;
  }
  if (!wants_redacted) return out;
  if (op != v1::READ) {
    out.err = EACCES;  // No writes through a redacted view.
    return out;
  }
  out.redacted = true;
  for (const v1::RedactionProfile& p : engine->policy().redaction_profiles()) {
    if (verdict.redaction_profile != nullptr &&
        p.name() == *verdict.redaction_profile) {
      out.profile.exif_gps = p.exif_gps();
      out.profile.xmp_location = p.xmp_location();
      out.profile.video_location = p.video_location();
    }
  }
  Stats::Add(stats_->opens_redacted);
  return out;
}

int AccessMediator::CheckName(const Caller& caller, Node* parent,
                              absl::string_view name, v1::Operation op,
                              bool is_dir) {
  const auto engine = policy_->engine();
  return RecordOutcome(
      Evaluate(*engine, caller, ChildPath(parent, name), op, is_dir).action, op);
}

AccessMediator::LookupVerdict AccessMediator::CheckLookup(
    const Caller& caller, Node* parent, absl::string_view name, mode_t type,
    bool mediate) {
  const auto engine = policy_->engine();
  const std::string path = ChildPath(parent, name);
  const bool is_dir = type == S_IFDIR;
  LookupVerdict out;
  out.shared_cache_ok = !engine->VisibilityMayVary(path);
  if (mediate) {
    out.err = RecordOutcome(
        Evaluate(*engine, caller, path, v1::LOOKUP, is_dir).action, v1::LOOKUP);
    if (out.err != 0) return out;
  }
  if (type == S_IFREG && engine->HasRedactionRules()) {
    out.shared_cache_ok = false;  // Some caller may get the other view.
    out.redacted = WantsRedactedView(
        Evaluate(*engine, caller, path, v1::READ, false).action,
        Evaluate(*engine, caller, path, v1::WRITE, false).action);
  }
  return out;
}

bool AccessMediator::SharedCacheAllowed(Node* parent, absl::string_view name) {
  return !policy_->engine()->VisibilityMayVary(ChildPath(parent, name));
}

}  // namespace scopedfs
