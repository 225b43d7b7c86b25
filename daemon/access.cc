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
      // Visible, but no redacted view exists yet: opens fail closed.
      return op == v1::LOOKUP ? 0 : EACCES;
    case v1::HIDE:
      return ENOENT;
    case v1::DENY:
    default:
      return EACCES;
  }
}

namespace {

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

int AccessMediator::CheckNode(const Caller& caller, Node* node,
                              v1::Operation op) {
  const auto engine = policy_->engine();
  const policy::DecisionCache::Key key{caller.uid, caller.gid,
                                       node->cache_tag.load(),
                                       static_cast<int>(op),
                                       engine->generation()};
  if (auto cached = cache_.Get(key)) {
    Stats::Add(stats_->decision_cache_hits);
    return RecordOutcome(cached->action, op);
  }
  const policy::Verdict verdict = Evaluate(
      *engine, caller, nodes_->PathOf(node), op, node->type == S_IFDIR);
  cache_.Put(key, verdict);
  return RecordOutcome(verdict.action, op);
}

int AccessMediator::CheckName(const Caller& caller, Node* parent,
                              absl::string_view name, v1::Operation op,
                              bool is_dir) {
  const auto engine = policy_->engine();
  return RecordOutcome(
      Evaluate(*engine, caller, ChildPath(parent, name), op, is_dir).action, op);
}

int AccessMediator::CheckLookup(const Caller& caller, Node* parent,
                                absl::string_view name, bool is_dir,
                                bool mediate, bool* shared_cache_ok) {
  const auto engine = policy_->engine();
  const std::string path = ChildPath(parent, name);
  *shared_cache_ok = !engine->VisibilityMayVary(path);
  if (!mediate) return 0;
  return RecordOutcome(
      Evaluate(*engine, caller, path, v1::LOOKUP, is_dir).action, v1::LOOKUP);
}

bool AccessMediator::SharedCacheAllowed(Node* parent, absl::string_view name) {
  return !policy_->engine()->VisibilityMayVary(ChildPath(parent, name));
}

}  // namespace scopedfs
