#include "policy/engine.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/file_class.h"
#include "policy/pattern.h"
#include "policy/validate.h"

namespace scopedfs::policy {
namespace {

constexpr uint32_t kAndroidUidsPerUser = 100000;
// The largest Android user a uid can have.
constexpr uint32_t kMaxAndroidUser = std::numeric_limits<uint32_t>::max() / kAndroidUidsPerUser;
// EntryVisibilityMayVary: more caller classes than this answer "varies".
constexpr size_t kMaxCallerClasses = 128;
const std::string kEmpty;

struct CompiledApp {
  const std::string* name = nullptr;
  std::vector<uint64_t> perms;  // bit set over the engine's permission ids

  bool Has(uint32_t perm) const {
    size_t word = perm / 64;
    return word < perms.size() && (perms[word] >> (perm % 64)) & 1;
  }
};

struct CompiledRule {
  const v1::Rule* src = nullptr;
  int32_t index = 0;
  std::vector<uint32_t> apps;  // sorted app indices; empty: any caller
  std::vector<uint32_t> uids;  // sorted; empty: any uid
  std::vector<Pattern> patterns;
  uint32_t class_mask = 0;  // 1 << FileClass; 0: any
  uint32_t op_mask = 0;     // 1 << Operation; 0: any
  v1::Ownership owner = v1::ANY_OWNER;
  std::vector<uint32_t> require;  // permission ids
  std::vector<uint32_t> lacking;
  v1::Action action = v1::DENY;
  const std::string* profile = nullptr;
  bool audit = true;
  // Some caller (an app, or no app) meets the apps and permission conditions.
  bool satisfiable = true;

  // No condition on the caller or the class: whether it matches depends on
  // the path and the operation only.
  bool Unconditional() const {
    return apps.empty() && uids.empty() && require.empty() && lacking.empty() &&
           owner == v1::ANY_OWNER && class_mask == 0;
  }
};

// An entry of a trie node's rule list: (rule index << 32) | pattern index,
// kNoPattern for a rule without paths (filed at the root). Ascending, so a
// merge of lists yields rules in policy order.
using Entry = uint64_t;
constexpr uint32_t kNoPattern = 0xFFFFFFFF;
inline uint32_t EntryRule(Entry e) { return static_cast<uint32_t>(e >> 32); }
inline uint32_t EntryPattern(Entry e) { return static_cast<uint32_t>(e); }

// A trie node: the rule patterns whose literal leading components lead here.
struct Node {
  uint32_t parent = 0;
  absl::flat_hash_map<std::string, uint32_t> children;
  std::vector<Entry> any_rules;  // rules for any caller
  absl::flat_hash_map<uint32_t, std::vector<Entry>> app_rules;  // per app
  // For VisibilityMayVary: the LOOKUP-capable rules filed here, and those
  // filed here or below; ascending, unique.
  std::vector<uint32_t> lookup_here;
  std::vector<uint32_t> lookup_subtree;
  // For ListingMayVary: the LOOKUP-capable rules filed here that are HIDE
  // (and satisfiable) or Unconditional, and those filed at the children;
  // ascending, unique.
  std::vector<uint32_t> listing_here;
  std::vector<uint32_t> listing_children;
  // For EntryVisibilityMayVary: some pattern filed here uses {user} / {app}.
  bool user_patterns = false;
  bool app_patterns = false;
  // Some rule filed here has a uids condition (grants): callers are not
  // enumerated by uid, so an entry on its way may vary.
  bool uid_rules = false;
};

template <typename T>
struct Range {
  const T* it;
  const T* end;
};
template <typename T>
using Ranges = absl::InlinedVector<Range<T>, 32>;

template <typename T>
void AddRange(Ranges<T>* ranges, const std::vector<T>& v) {
  if (!v.empty()) ranges->push_back({v.data(), v.data() + v.size()});
}

// Pops the smallest value over all ranges; false when all are empty.
// Duplicates come out once each time; the caller skips repeats.
template <typename T>
bool PopMin(Ranges<T>* ranges, T* out) {
  T best = std::numeric_limits<T>::max();
  Range<T>* best_range = nullptr;
  for (Range<T>& r : *ranges) {
    if (r.it != r.end && *r.it < best) {
      best = *r.it;
      best_range = &r;
    }
  }
  if (best_range == nullptr) return false;
  ++best_range->it;
  *out = best;
  return true;
}

void SortUnique(std::vector<uint32_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

// `value` in decimal, written to the end of `buf`; no allocation.
absl::string_view Decimal(uint32_t value, char (&buf)[12]) {
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  return absl::string_view(p, static_cast<size_t>(end - p));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether `text` occurs in one of parts[from..].
bool OccursIn(const PathParts& parts, size_t from, absl::string_view text) {
  for (size_t i = from; i < parts.size(); ++i) {
    if (absl::StrContains(parts[i], text)) return true;
  }
  return false;
}

template <typename T, size_t N>
void AddUnique(absl::InlinedVector<T, N>* v, T value) {
  if (std::find(v->begin(), v->end(), value) == v->end()) v->push_back(value);
}

}  // namespace

struct Engine::Impl {
  v1::Policy policy;
  uint64_t generation = 0;
  v1::Action default_action = v1::DENY;
  bool android = false;
  absl::flat_hash_set<uint32_t> system_uids;
  std::vector<CompiledApp> apps;
  absl::flat_hash_map<uint32_t, uint32_t> by_uid, by_gid, by_app_id;
  absl::flat_hash_map<std::string, uint32_t> by_name;
  std::vector<std::string> permission_names;  // by permission id
  std::vector<CompiledRule> rules;
  std::vector<Node> nodes;  // nodes[0] is the root
  // Some rule could give every caller ALLOW for LOOKUP in a whole region
  // (see VisibilityMayVary).
  bool has_universal_lookup_allow = false;
  // Some rule answers ALLOW_REDACTED (see HasRedactionRules).
  bool has_redaction_rules = false;
  // Some rule has an owner condition (see UsesOwnership).
  bool uses_ownership = false;
  // Some rule has a classes condition (see UsesClasses).
  bool uses_classes = false;
  // Some rule that can decide a LOOKUP has a classes condition.
  bool lookup_uses_classes = false;
  // For EntryVisibilityMayVary: the apps grouped by the permissions that
  // rules test (apps of a group differ only by name and by the rules that
  // name them); the apps with gids (the owner uid may come with any gid);
  // the shortest and longest app name.
  std::vector<std::vector<uint32_t>> app_groups;
  std::vector<uint32_t> gid_apps;
  size_t min_app_name = 0, max_app_name = 0;

  // Per-request state of one decision.
  struct Eval {
    const Request* req;
    PathParts parts;
    int32_t app = -1;
    bool bypass = false;
    bool malformed = false;
    char user_buf[12];
    PatternContext pctx;
    mutable v1::FileClass cls = v1::FILE_CLASS_UNSPECIFIED;

    v1::FileClass Class() const {
      if (cls == v1::FILE_CLASS_UNSPECIFIED) {
        const bool is_dir = req->is_dir || parts.empty();
        const v1::FileClass content = req->content_class;
        cls = !is_dir && content != v1::FILE_CLASS_UNSPECIFIED &&
                      content != v1::OTHER
                  ? content
                  : ClassifyFile(
                        parts.empty() ? absl::string_view() : parts.back(),
                        is_dir, req->head);
      }
      return cls;
    }
  };

  void Build();
  uint32_t NodeFor(const Pattern& p);
  int32_t Identify(uint32_t uid, uint32_t gid) const;
  void Prepare(const Request& req, Eval* ev) const;
  bool RuleMatches(const CompiledRule& r, const Eval& ev, int* pattern = nullptr) const;
  // RuleMatches without the paths and classes conditions.
  bool CallerMatches(const CompiledRule& r, const Eval& ev) const;
  Verdict Evaluate(const Eval& ev) const;
  Verdict RuleVerdict(const CompiledRule& r, const Eval& ev) const;
  Verdict BaseVerdict(const Eval& ev, v1::Action action) const;
  std::string Describe(const CompiledRule& r, const Eval& ev) const;
};

uint32_t Engine::Impl::NodeFor(const Pattern& p) {
  uint32_t n = 0;
  for (size_t i = 0; i < p.literal_prefix_size(); ++i) {
    absl::string_view name = p.component_literal(i);
    auto it = nodes[n].children.find(name);
    if (it != nodes[n].children.end()) {
      n = it->second;
      continue;
    }
    uint32_t child = static_cast<uint32_t>(nodes.size());
    nodes[n].children.emplace(std::string(name), child);
    nodes.emplace_back();
    nodes.back().parent = n;
    n = child;
  }
  return n;
}

void Engine::Impl::Build() {
  default_action = policy.default_action();
  android = policy.android_uid_scheme();
  system_uids.insert(policy.system_uids().begin(), policy.system_uids().end());

  absl::flat_hash_map<std::string, uint32_t> perm_ids;
  auto perm_id = [&](const std::string& name) {
    auto [it, fresh] = perm_ids.emplace(name, static_cast<uint32_t>(permission_names.size()));
    if (fresh) permission_names.push_back(name);
    return it->second;
  };

  for (int i = 0; i < policy.apps_size(); ++i) {
    const v1::App& a = policy.apps(i);
    CompiledApp app;
    app.name = &a.name();
    for (const std::string& p : a.permissions()) {
      uint32_t id = perm_id(p);
      if (app.perms.size() <= id / 64) app.perms.resize(id / 64 + 1);
      app.perms[id / 64] |= uint64_t{1} << (id % 64);
    }
    apps.push_back(std::move(app));
    const uint32_t idx = static_cast<uint32_t>(i);
    by_name.emplace(a.name(), idx);
    // First app wins (validation rejects ambiguous identities anyway).
    for (uint32_t uid : a.uids()) by_uid.emplace(uid, idx);
    for (uint32_t gid : a.gids()) by_gid.emplace(gid, idx);
    for (uint32_t id : a.android_app_ids()) by_app_id.emplace(id, idx);
  }

  absl::flat_hash_map<std::string, const std::string*> profiles;
  for (const v1::RedactionProfile& p : policy.redaction_profiles()) {
    profiles.emplace(p.name(), &p.name());
  }

  nodes.emplace_back();
  rules.reserve(policy.rules_size());
  for (int i = 0; i < policy.rules_size(); ++i) {
    const v1::Rule& src = policy.rules(i);
    CompiledRule r;
    r.src = &src;
    r.index = i;
    for (const std::string& name : src.apps()) r.apps.push_back(by_name.at(name));
    SortUnique(&r.apps);
    r.uids.assign(src.uids().begin(), src.uids().end());
    SortUnique(&r.uids);
    for (const std::string& text : src.paths()) {
      Pattern p;
      std::string error;
      Pattern::Compile(text, &p, &error);  // validated
      r.patterns.push_back(std::move(p));
    }
    for (int c : src.classes()) r.class_mask |= 1u << c;
    for (int op : src.operations()) r.op_mask |= 1u << op;
    r.owner = src.owner();
    for (const std::string& p : src.require_permissions()) r.require.push_back(perm_id(p));
    for (const std::string& p : src.lacking_permissions()) r.lacking.push_back(perm_id(p));
    r.action = src.action();
    if (!src.redaction_profile().empty()) r.profile = profiles.at(src.redaction_profile());
    r.audit = src.has_audit() ? src.audit() : true;
    auto app_meets = [&](uint32_t a) {
      for (uint32_t p : r.require)
        if (!apps[a].Has(p)) return false;
      for (uint32_t p : r.lacking)
        if (apps[a].Has(p)) return false;
      return true;
    };
    if (r.apps.empty()) {
      // A caller that is no app holds no permission.
      r.satisfiable = r.require.empty();
      for (uint32_t a = 0; !r.satisfiable && a < apps.size(); ++a) r.satisfiable = app_meets(a);
    } else {
      r.satisfiable = std::any_of(r.apps.begin(), r.apps.end(), app_meets);
    }
    rules.push_back(std::move(r));
  }

  // Apps by the permissions that rules test.
  std::vector<uint64_t> tested;
  for (const CompiledRule& r : rules) {
    for (const auto* list : {&r.require, &r.lacking}) {
      for (uint32_t p : *list) {
        if (tested.size() <= p / 64) tested.resize(p / 64 + 1);
        tested[p / 64] |= uint64_t{1} << (p % 64);
      }
    }
  }
  absl::flat_hash_map<std::vector<uint64_t>, uint32_t> group_of;
  for (uint32_t a = 0; a < apps.size(); ++a) {
    std::vector<uint64_t> key(tested.size());
    for (size_t w = 0; w < key.size() && w < apps[a].perms.size(); ++w) {
      key[w] = apps[a].perms[w] & tested[w];
    }
    auto [it, fresh] = group_of.emplace(std::move(key), static_cast<uint32_t>(app_groups.size()));
    if (fresh) app_groups.emplace_back();
    app_groups[it->second].push_back(a);
    if (!policy.apps(static_cast<int>(a)).gids().empty()) gid_apps.push_back(a);
    const size_t len = apps[a].name->size();
    min_app_name = a == 0 ? len : std::min(min_app_name, len);
    max_app_name = std::max(max_app_name, len);
  }

  // File every rule under the literal leading components of each pattern.
  const uint32_t lookup_bit = 1u << v1::LOOKUP;
  for (const CompiledRule& r : rules) {
    const uint32_t idx = static_cast<uint32_t>(r.index);
    auto file = [&](uint32_t n, uint32_t pattern) {
      Node& node = nodes[n];
      const Entry e = (Entry{idx} << 32) | pattern;
      if (r.apps.empty()) {
        node.any_rules.push_back(e);
      } else {
        for (uint32_t app : r.apps) node.app_rules[app].push_back(e);
      }
      const bool lookup = r.op_mask == 0 || (r.op_mask & lookup_bit);
      if (lookup && (node.lookup_here.empty() || node.lookup_here.back() != idx)) {
        node.lookup_here.push_back(idx);
      }
      if (lookup && ((r.action == v1::HIDE && r.satisfiable) || r.Unconditional()) &&
          (node.listing_here.empty() || node.listing_here.back() != idx)) {
        node.listing_here.push_back(idx);
      }
      node.uid_rules |= !r.uids.empty();
      if (pattern != kNoPattern) {
        node.user_patterns |= r.patterns[pattern].uses_user();
        node.app_patterns |= r.patterns[pattern].uses_app();
      }
    };
    if (r.patterns.empty()) {
      file(0, kNoPattern);
    } else {
      for (size_t i = 0; i < r.patterns.size(); ++i) {
        file(NodeFor(r.patterns[i]), static_cast<uint32_t>(i));
      }
    }
  }
  for (const CompiledRule& r : rules) {
    if (r.action == v1::ALLOW && (r.op_mask == 0 || (r.op_mask & lookup_bit)) &&
        r.apps.empty() && r.uids.empty() && r.require.empty() && r.lacking.empty() &&
        r.owner == v1::ANY_OWNER && r.class_mask == 0 &&
        (r.patterns.empty() ||
         std::any_of(r.patterns.begin(), r.patterns.end(),
                     [](const Pattern& p) { return p.CanMatchAllBelow(); }))) {
      has_universal_lookup_allow = true;
    }
  }
  // Children come after their parents in `nodes`: fold subtrees bottom-up.
  for (Node& n : nodes) n.lookup_subtree = n.lookup_here;
  for (size_t i = nodes.size(); i-- > 1;) {
    SortUnique(&nodes[i].lookup_subtree);
    std::vector<uint32_t>& up = nodes[nodes[i].parent].lookup_subtree;
    up.insert(up.end(), nodes[i].lookup_subtree.begin(), nodes[i].lookup_subtree.end());
  }
  SortUnique(&nodes[0].lookup_subtree);
  for (size_t i = 1; i < nodes.size(); ++i) {
    std::vector<uint32_t>& up = nodes[nodes[i].parent].listing_children;
    up.insert(up.end(), nodes[i].listing_here.begin(), nodes[i].listing_here.end());
  }
  for (Node& n : nodes) SortUnique(&n.listing_children);
}

int32_t Engine::Impl::Identify(uint32_t uid, uint32_t gid) const {
  if (auto it = by_uid.find(uid); it != by_uid.end()) return static_cast<int32_t>(it->second);
  if (auto it = by_gid.find(gid); it != by_gid.end()) return static_cast<int32_t>(it->second);
  if (android) {
    if (auto it = by_app_id.find(uid % kAndroidUidsPerUser); it != by_app_id.end()) {
      return static_cast<int32_t>(it->second);
    }
  }
  return -1;
}

void Engine::Impl::Prepare(const Request& req, Eval* ev) const {
  ev->req = &req;
  if (!SplitRequestPath(req.path, &ev->parts)) {
    ev->malformed = true;
    return;
  }
  if (req.app_name != nullptr) {
    auto it = by_name.find(*req.app_name);
    ev->app = it == by_name.end() ? -1 : static_cast<int32_t>(it->second);
  } else {
    ev->bypass = req.uid == 0 || system_uids.contains(req.uid);
    ev->app = Identify(req.uid, req.gid);
  }
  // {user}: decimal, no allocation.
  ev->pctx.user = Decimal(android ? req.uid / kAndroidUidsPerUser : 0, ev->user_buf);
  ev->pctx.app = ev->app >= 0 ? absl::string_view(*apps[ev->app].name) : absl::string_view();
}

bool Engine::Impl::RuleMatches(const CompiledRule& r, const Eval& ev, int* pattern) const {
  if (!CallerMatches(r, ev)) return false;
  if (!r.patterns.empty()) {
    bool any = false;
    for (size_t i = 0; i < r.patterns.size(); ++i) {
      if (r.patterns[i].Matches(ev.parts, ev.pctx)) {
        any = true;
        if (pattern != nullptr) *pattern = static_cast<int>(i);
        break;
      }
    }
    if (!any) return false;
  }
  if (r.class_mask != 0 && !((r.class_mask >> ev.Class()) & 1)) return false;
  return true;
}

bool Engine::Impl::CallerMatches(const CompiledRule& r, const Eval& ev) const {
  const Request& req = *ev.req;
  // An operation outside the mask's range (an unknown enum value from the
  // admin API) is in no rule's list; shifting by it would be undefined.
  if (r.op_mask != 0 && (static_cast<uint32_t>(req.op) >= 32 ||
                         !((r.op_mask >> req.op) & 1))) {
    return false;
  }
  if (!r.apps.empty() &&
      (ev.app < 0 || !std::binary_search(r.apps.begin(), r.apps.end(),
                                         static_cast<uint32_t>(ev.app)))) {
    return false;
  }
  if (!r.uids.empty() && !std::binary_search(r.uids.begin(), r.uids.end(), req.uid)) {
    return false;
  }
  if (r.owner == v1::CALLER && !req.caller_is_owner) return false;
  if (r.owner == v1::NOT_CALLER && req.caller_is_owner) return false;
  if (!r.require.empty()) {
    if (ev.app < 0) return false;
    for (uint32_t p : r.require)
      if (!apps[ev.app].Has(p)) return false;
  }
  if (!r.lacking.empty() && ev.app >= 0) {
    for (uint32_t p : r.lacking)
      if (apps[ev.app].Has(p)) return false;
  }
  return true;
}

Verdict Engine::Impl::BaseVerdict(const Eval& ev, v1::Action action) const {
  Verdict v;
  v.action = action;
  v.rule_index = -1;
  v.audit = true;
  v.app = ev.app >= 0 ? apps[ev.app].name : nullptr;
  return v;
}

Verdict Engine::Impl::RuleVerdict(const CompiledRule& r, const Eval& ev) const {
  Verdict v = BaseVerdict(ev, r.action);
  v.rule_index = r.index;
  v.audit = r.audit;
  v.rule_id = &r.src->id();
  v.redaction_profile = r.profile;
  return v;
}

Verdict Engine::Impl::Evaluate(const Eval& ev) const {
  if (ev.malformed) return BaseVerdict(ev, v1::DENY);
  if (ev.bypass) return BaseVerdict(ev, v1::ALLOW);

  Ranges<Entry> ranges;
  const Node* node = &nodes[0];
  for (size_t depth = 0;; ++depth) {
    AddRange(&ranges, node->any_rules);
    if (ev.app >= 0 && !node->app_rules.empty()) {
      auto it = node->app_rules.find(static_cast<uint32_t>(ev.app));
      if (it != node->app_rules.end()) AddRange(&ranges, it->second);
    }
    if (depth == ev.parts.size() || node->children.empty()) break;
    auto child = node->children.find(ev.parts[depth]);
    if (child == node->children.end()) break;
    node = &nodes[child->second];
  }

  // Entries come in rule order; a rule's entries (one per pattern filed on
  // the walk) are adjacent. Only those patterns can match: the others are
  // filed under literal components this path does not have. And a pattern
  // filed at depth d has its first d (literal) components equal to the
  // path's, by construction: matching starts after them.
  Entry e;
  int64_t current = -1;
  bool caller_ok = false;
  while (PopMin(&ranges, &e)) {
    const uint32_t idx = EntryRule(e);
    const CompiledRule& r = rules[idx];
    if (static_cast<int64_t>(idx) != current) {
      current = idx;
      caller_ok = CallerMatches(r, ev);
    }
    if (!caller_ok) continue;
    const uint32_t pi = EntryPattern(e);
    if (pi != kNoPattern) {
      const Pattern& p = r.patterns[pi];
      if (!p.MatchesFrom(ev.parts, ev.pctx, p.literal_prefix_size())) continue;
    }
    if (r.class_mask != 0 && !((r.class_mask >> ev.Class()) & 1)) {
      caller_ok = false;  // no other pattern can help
      continue;
    }
    return RuleVerdict(r, ev);
  }
  Verdict v = BaseVerdict(ev, default_action);
  v.by_default = true;
  return v;
}

std::string Engine::Impl::Describe(const CompiledRule& r, const Eval& ev) const {
  std::vector<std::string> parts;
  const std::string* app = ev.app >= 0 ? apps[ev.app].name : nullptr;
  if (!r.apps.empty()) parts.push_back(absl::StrCat("caller is app ", *app));
  if (!r.uids.empty()) parts.push_back(absl::StrCat("caller is uid ", ev.req->uid));
  if (!r.require.empty() || !r.lacking.empty()) {
    std::vector<std::string> perms;
    if (!r.require.empty()) {
      perms.push_back(absl::StrCat("holds ", absl::StrJoin(r.src->require_permissions(), ", ")));
    }
    if (!r.lacking.empty()) {
      perms.push_back(absl::StrCat("lacks ", absl::StrJoin(r.src->lacking_permissions(), ", ")));
    }
    parts.push_back(absl::StrCat(app != nullptr ? absl::StrCat("app ", *app)
                                                : std::string("caller (no configured app)"),
                                 " ", absl::StrJoin(perms, ", ")));
  }
  if (r.owner == v1::CALLER) parts.push_back("caller owns the file");
  if (r.owner == v1::NOT_CALLER) parts.push_back("caller does not own the file");
  if (!r.patterns.empty()) {
    int which = 0;
    RuleMatches(r, ev, &which);
    parts.push_back(absl::StrCat("path '", ev.req->path, "' matches '",
                                 r.patterns[which].text(), "'"));
  }
  if (r.class_mask != 0) parts.push_back(absl::StrCat("class ", v1::FileClass_Name(ev.Class())));
  if (r.op_mask != 0) {
    parts.push_back(absl::StrCat("operation ", v1::Operation_Name(ev.req->op)));
  }
  if (parts.empty()) return "any request";
  return absl::StrJoin(parts, "; ");
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

absl::StatusOr<std::shared_ptr<const Engine>> Engine::Compile(const v1::Policy& policy,
                                                              uint64_t generation,
                                                              int grant_rules) {
  std::vector<PolicyError> errors = ValidatePolicy(policy, grant_rules);
  if (!errors.empty()) return absl::InvalidArgumentError(FormatPolicyErrors(errors));
  auto impl = std::make_unique<Impl>();
  impl->policy = policy;
  impl->policy.set_generation(generation);
  impl->generation = generation;
  impl->Build();
  for (const v1::Rule& rule : policy.rules()) {
    impl->has_redaction_rules |= rule.action() == v1::ALLOW_REDACTED;
    impl->uses_ownership |= rule.owner() != v1::ANY_OWNER;
    impl->uses_classes |= rule.classes_size() > 0;
    const bool decides_lookup =
        rule.operations_size() == 0 ||
        std::find(rule.operations().begin(), rule.operations().end(),
                  v1::LOOKUP) != rule.operations().end();
    impl->lookup_uses_classes |= decides_lookup && rule.classes_size() > 0;
  }
  return std::shared_ptr<const Engine>(new Engine(std::move(impl)));
}

Verdict Engine::Decide(const Request& req) const {
  Impl::Eval ev;
  impl_->Prepare(req, &ev);
  Verdict v = impl_->Evaluate(ev);
  v.class_consulted = ev.cls != v1::FILE_CLASS_UNSPECIFIED;
  return v;
}

v1::Decision Engine::Explain(const Request& req) const {
  Impl::Eval ev;
  impl_->Prepare(req, &ev);
  const Verdict v = impl_->Evaluate(ev);
  v1::Decision d;
  d.set_action(v.action);
  d.set_rule_index(v.rule_index);
  if (v.rule_id != nullptr) d.set_rule_id(*v.rule_id);
  if (v.redaction_profile != nullptr) d.set_redaction_profile(*v.redaction_profile);
  if (v.app != nullptr) d.set_app(*v.app);
  d.set_audit(v.audit);
  d.set_generation(impl_->generation);
  if (ev.malformed) {
    d.set_reason(absl::StrCat("malformed path '", req.path,
                              "' (leading or trailing '/', empty, '.' or '..' component)"));
  } else if (ev.bypass) {
    d.set_reason("system uid");
  } else if (v.rule_index >= 0) {
    const CompiledRule& r = impl_->rules[v.rule_index];
    d.set_reason(absl::StrCat("rule '", r.src->id(), "' matched: ", impl_->Describe(r, ev)));
  } else {
    std::string who;
    if (req.app_name != nullptr && ev.app < 0) {
      who = absl::StrCat("; app '", *req.app_name, "' is not configured");
    } else if (ev.app < 0) {
      who = "; caller is no configured app";
    }
    d.set_reason(absl::StrCat("no rule matched: default action ",
                              v1::Action_Name(impl_->default_action), who));
  }
  return d;
}

bool Engine::VisibilityMayVary(absl::string_view path) const {
  const Impl& im = *impl_;
  PathParts parts;
  if (!SplitRequestPath(path, &parts)) return true;
  // Root always gets ALLOW: with another default and no rule that could
  // grant ALLOW to everyone in a whole region, every path varies. (The
  // Android-style default policy is such a policy: this is its fast path.)
  if (im.default_action != v1::ALLOW && !im.has_universal_lookup_allow) return true;

  // Rules filed on the way down may match at or below `path`; rules filed
  // below the node of `path` itself may match below it. Nothing else can.
  Ranges<uint32_t> ranges;
  const Node* node = &im.nodes[0];
  for (size_t depth = 0;; ++depth) {
    if (depth == parts.size()) {
      AddRange(&ranges, node->lookup_subtree);
      break;
    }
    AddRange(&ranges, node->lookup_here);
    auto child = node->children.find(parts[depth]);
    if (child == node->children.end()) break;
    node = &im.nodes[child->second];
  }
  uint32_t idx;
  int64_t last = -1;
  while (PopMin(&ranges, &idx)) {
    if (static_cast<int64_t>(idx) == last) continue;
    last = idx;
    const CompiledRule& r = im.rules[idx];
    bool may = r.patterns.empty();
    bool all = r.patterns.empty();
    for (const Pattern& p : r.patterns) {
      if (p.MayMatchAtOrBelow(parts)) may = true;
      if (p.MatchesAllAtOrBelow(parts)) all = true;
    }
    if (!may) continue;
    if (r.action != v1::ALLOW) return true;
    // An ALLOW that every caller gets for every LOOKUP in the region shadows
    // everything after it.
    if (all && r.apps.empty() && r.uids.empty() && r.require.empty() && r.lacking.empty() &&
        r.owner == v1::ANY_OWNER && r.class_mask == 0) {
      return false;
    }
  }
  return im.default_action != v1::ALLOW;
}

bool Engine::EntryVisibilityMayVary(const EntryQuery& q) const {
  const Impl& im = *impl_;
  Request child_req, parent_req;
  child_req.op = parent_req.op = v1::LOOKUP;
  child_req.is_dir = q.is_dir;
  child_req.content_class = q.content_class;
  parent_req.is_dir = true;
  Impl::Eval child, parent;
  child.req = &child_req;
  parent.req = &parent_req;
  if (!SplitRequestPath(q.parent, &parent.parts)) return true;
  if (q.name.empty() || q.name == "." || q.name == ".." ||
      q.name.find('/') != absl::string_view::npos) {
    return true;
  }
  child.parts = parent.parts;
  child.parts.push_back(q.name);
  const PathParts& parts = child.parts;
  constexpr size_t kNone = std::numeric_limits<size_t>::max();

  // Decide reads only the rules filed on the trie walk of its path, and the
  // parent's walk is a prefix of the child's. On it: the apps that rules
  // name (each its own class), and from which component on a {user} or
  // {app} pattern could match (a pattern filed at depth d starts with d
  // literal components).
  absl::InlinedVector<int32_t, 16> apps = {-1};  // -1: no app
  size_t user_from = kNone, app_from = kNone;
  const Node* node = &im.nodes[0];
  for (size_t depth = 0;; ++depth) {
    if (node->uid_rules) return true;
    if (node->user_patterns && user_from == kNone) user_from = depth;
    if (node->app_patterns && app_from == kNone) app_from = depth;
    for (const auto& entry : node->app_rules) {
      AddUnique(&apps, static_cast<int32_t>(entry.first));
      if (apps.size() > kMaxCallerClasses) return true;
    }
    if (depth == parts.size() || node->children.empty()) break;
    auto it = node->children.find(parts[depth]);
    if (it == node->children.end()) break;
    node = &im.nodes[it->second];
  }
  // Apps whose name a {app} pattern could find in the path: by looking up
  // the substrings of app-name length, or by searching each name, whichever
  // is less work.
  if (app_from != kNone && !im.apps.empty()) {
    size_t probes = 0;
    for (size_t i = app_from; i < parts.size(); ++i) {
      probes += parts[i].size() * (im.max_app_name - im.min_app_name + 1);
    }
    if (probes < im.apps.size()) {
      for (size_t i = app_from; i < parts.size(); ++i) {
        const absl::string_view comp = parts[i];
        for (size_t len = im.min_app_name; len <= im.max_app_name && len <= comp.size(); ++len) {
          for (size_t at = 0; at + len <= comp.size(); ++at) {
            auto it = im.by_name.find(comp.substr(at, len));
            if (it != im.by_name.end()) AddUnique(&apps, static_cast<int32_t>(it->second));
          }
        }
      }
    } else {
      for (size_t a = 0; a < im.apps.size(); ++a) {
        if (OccursIn(parts, app_from, *im.apps[a].name)) {
          AddUnique(&apps, static_cast<int32_t>(a));
        }
      }
    }
    if (apps.size() > kMaxCallerClasses) return true;
  }
  // Every other app behaves like any app of its permission group that is
  // not one of those: one of each.
  for (const std::vector<uint32_t>& group : im.app_groups) {
    for (uint32_t a : group) {
      if (std::find(apps.begin(), apps.end(), static_cast<int32_t>(a)) == apps.end()) {
        apps.push_back(static_cast<int32_t>(a));
        break;
      }
    }
    if (apps.size() > kMaxCallerClasses) return true;
  }

  // Users ({user} is uid / 100000 with the Android scheme, else 0): those
  // whose number occurs in the path where a {user} pattern could match it,
  // and one whose number occurs nowhere there for all the others. Any app
  // and no app is counted as possible for every user (conservative).
  absl::InlinedVector<uint32_t, 8> users;
  if (!im.android || user_from == kNone) {
    users.push_back(0);  // the only user, or it does not matter
  } else {
    for (size_t i = user_from; i < parts.size(); ++i) {
      const absl::string_view comp = parts[i];
      for (size_t at = 0; at < comp.size(); ++at) {
        if (comp[at] == '0') {
          AddUnique(&users, 0u);  // no leading zeros
          continue;
        }
        uint32_t value = 0;
        for (size_t k = at; k < comp.size() && IsDigit(comp[k]); ++k) {
          value = value * 10 + static_cast<uint32_t>(comp[k] - '0');
          if (value > kMaxAndroidUser) break;
          AddUnique(&users, value);
        }
        if (users.size() * apps.size() > kMaxCallerClasses) return true;
      }
    }
    char buf[12];
    bool other = false;
    for (uint32_t x = kMaxAndroidUser; x + 64 > kMaxAndroidUser; --x) {
      if (!OccursIn(parts, user_from, Decimal(x, buf))) {
        users.push_back(x);
        other = true;
        break;
      }
    }
    if (!other) return true;
  }

  // The owners, exactly: their uid fixes the user, and the app unless the
  // uid is no app's (then their gid may make them any app with gids, or
  // else they are their Android app id's app, or no app).
  struct OwnerClass {
    int32_t app;
    uint32_t user;
    bool parent_owner, child_owner;
  };
  absl::InlinedVector<OwnerClass, 8> owners;
  if (im.uses_ownership) {
    for (const std::optional<uint32_t>* owner : {&q.parent_owner, &q.child_owner}) {
      if (!owner->has_value()) continue;
      const uint32_t uid = **owner;
      if (owner == &q.child_owner && q.parent_owner == q.child_owner) continue;  // done
      if (Bypasses(uid)) continue;
      const bool po = q.parent_owner == uid, co = q.child_owner == uid;
      const uint32_t user = im.android ? uid / kAndroidUidsPerUser : 0;
      if (auto it = im.by_uid.find(uid); it != im.by_uid.end()) {
        owners.push_back({static_cast<int32_t>(it->second), user, po, co});
        continue;
      }
      for (uint32_t a : im.gid_apps) owners.push_back({static_cast<int32_t>(a), user, po, co});
      int32_t fallback = -1;
      if (im.android) {
        auto it = im.by_app_id.find(uid % kAndroidUidsPerUser);
        if (it != im.by_app_id.end()) fallback = static_cast<int32_t>(it->second);
      }
      owners.push_back({fallback, user, po, co});
    }
  }
  if (apps.size() * users.size() + owners.size() > kMaxCallerClasses) return true;

  // Root gets ALLOW: a class makes the entry vary when it gets HIDE for the
  // child, or DENY for the child and may look up the parent.
  char user_buf[12];
  auto varies = [&](int32_t app, uint32_t user, bool parent_owner, bool child_owner) {
    child.app = parent.app = app;
    child.pctx.app = parent.pctx.app =
        app >= 0 ? absl::string_view(*im.apps[app].name) : absl::string_view();
    child.pctx.user = parent.pctx.user = Decimal(user, user_buf);
    child_req.caller_is_owner = child_owner;
    const v1::Action c = im.Evaluate(child).action;
    if (c == v1::HIDE) return true;
    if (c != v1::DENY) return false;
    parent_req.caller_is_owner = parent_owner;
    const v1::Action p = im.Evaluate(parent).action;
    return p == v1::ALLOW || p == v1::ALLOW_REDACTED;
  };
  for (int32_t app : apps) {
    for (uint32_t user : users) {
      if (varies(app, user, false, false)) return true;
    }
  }
  for (const OwnerClass& o : owners) {
    if (varies(o.app, o.user, o.parent_owner, o.child_owner)) return true;
  }
  return false;
}

bool Engine::ListingMayVary(absl::string_view dir) const {
  const Impl& im = *impl_;
  PathParts parts;
  if (!SplitRequestPath(dir, &parts)) return true;
  // A child has one component more than `dir`: only rules filed on the way
  // down to `dir` and at its children can match it.
  Ranges<uint32_t> ranges;
  const Node* node = &im.nodes[0];
  for (size_t depth = 0;; ++depth) {
    AddRange(&ranges, node->listing_here);
    if (depth == parts.size()) {
      AddRange(&ranges, node->listing_children);
      break;
    }
    auto child = node->children.find(parts[depth]);
    if (child == node->children.end()) break;
    node = &im.nodes[child->second];
  }
  uint32_t idx;
  int64_t last = -1;
  while (PopMin(&ranges, &idx)) {
    if (static_cast<int64_t>(idx) == last) continue;
    last = idx;
    const CompiledRule& r = im.rules[idx];
    if (r.action == v1::HIDE) {
      // Listed only when satisfiable.
      if (r.patterns.empty()) return true;
      for (const Pattern& p : r.patterns) {
        if (p.MayMatchChildOf(parts)) return true;
      }
      continue;
    }
    // Unconditional: when it matches every child, nothing after it decides.
    if (r.patterns.empty()) return false;
    for (const Pattern& p : r.patterns) {
      if (p.MatchesAllChildrenOf(parts)) return false;
    }
  }
  return im.default_action == v1::HIDE;
}

uint64_t Engine::generation() const { return impl_->generation; }
bool Engine::HasRedactionRules() const { return impl_->has_redaction_rules; }

bool Engine::UsesOwnership() const { return impl_->uses_ownership; }
bool Engine::UsesClasses() const { return impl_->uses_classes; }

bool Engine::LookupUsesClasses() const { return impl_->lookup_uses_classes; }

bool Engine::Bypasses(uint32_t uid) const {
  return uid == 0 || impl_->system_uids.contains(uid);
}

const std::string* Engine::AppOf(uint32_t uid, uint32_t gid) const {
  const int32_t app = impl_->Identify(uid, gid);
  return app < 0 ? nullptr : impl_->apps[app].name;
}
bool Engine::IdentifiesByUid(uint32_t uid) const {
  return impl_->by_gid.empty() || impl_->by_uid.contains(uid);
}

const v1::Policy& Engine::policy() const { return impl_->policy; }

}  // namespace scopedfs::policy
