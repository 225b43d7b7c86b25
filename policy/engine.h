// The policy engine: a Policy compiled into an immutable, indexed form that
// decides requests in well under a microsecond (bench/policy_bench.cc).
//
// Semantics (see also proto/scopedfs/v1/policy.proto):
//   1. A malformed request path (leading or trailing '/', empty, "." or ".."
//      components) is DENY, for everyone (fail closed; rule_index -1).
//   2. Root (uid 0) and Policy.system_uids: ALLOW (rule_index -1, "system uid").
//      Not applied when the request names its app (Request.app_name).
//   3. The caller's app: the first app whose uids contain the uid, else whose
//      gids contain the gid, else (android_uid_scheme) whose android_app_ids
//      contain uid % 100000. {user} is uid / 100000 with the scheme, else 0.
//      With Request.app_name the app is the one of that name (none if there is
//      no such app) and uid only gives {user}.
//   4. Rules in order, the first that matches decides; else default_action.
//      A rule matches when every condition holds: apps (non-empty: only those
//      identified apps), uids (non-empty: only callers with those uids),
//      paths (empty: any; a pattern using {app} only matches
//      identified callers), classes (the content's class when known and not
//      OTHER, else by the last component's extension: ClassifyFile),
//      operations, owner (Request.caller_is_owner), the app holds
//      all require_permissions and none of lacking_permissions (a caller that
//      is no app holds none).
//
// Index: each path pattern of each rule is filed in a trie under its literal
// leading components ("Android/data/{app}/" under Android -> data, "**/*.jpg"
// at the root, rules without paths at the root), split by app (rules for any
// caller; rules per listed app). Decide walks the request path down the trie,
// takes the any-app and caller's-app lists of the nodes it passes (at most
// 2 x (depth + 1) sorted lists of (rule, pattern)) and evaluates their merge
// in rule order, matching each pattern after the literal components the walk
// has already checked. The cost depends on the rules that can concern this
// app and path, not on the size of the policy (bench/policy_bench.cc).
#ifndef SCOPEDFS_POLICY_ENGINE_H_
#define SCOPEDFS_POLICY_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::policy {

struct Request {
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Relative to the mount root, no leading '/'; "" is the root itself.
  absl::string_view path;
  v1::Operation op = v1::LOOKUP;
  bool is_dir = false;
  // The caller's app created the file (owner store).
  bool caller_is_owner = false;
  // The file's content, for the class (policy/README.md, "File classes"):
  // its first bytes if known (may be empty), or the class the daemon already
  // derived from them (ClassifyMagic; UNSPECIFIED: not known). A content
  // class other than OTHER wins over the name's extension. The daemon passes
  // SYMLINK or SPECIAL here for those file types (new ones included), so
  // their names never make them an IMAGE.
  absl::string_view head;
  v1::FileClass content_class = v1::FILE_CLASS_UNSPECIFIED;
  // Explain by app name: identify the caller as this app instead of by
  // uid/gid (no system-uid bypass; uid still gives {user}).
  const std::string* app_name = nullptr;
};

// Cheap to copy. The pointers point into the Engine and are valid while it
// lives; null when there is none.
struct Verdict {
  v1::Action action = v1::DENY;
  int32_t rule_index = -1;  // -1: default action, bypass or malformed path
  bool audit = true;        // Rule.audit (default true); true without a rule
  const std::string* rule_id = nullptr;
  const std::string* app = nullptr;                // the caller's app name
  const std::string* redaction_profile = nullptr;  // for ALLOW_REDACTED
  // Whether some rule's class condition was evaluated: only then can the
  // file's content change the verdict (the daemon reads it only then).
  bool class_consulted = false;
  // The default action decided (no rule matched; not a bypass or a
  // malformed path).
  bool by_default = false;
};

// One directory entry, for Engine::EntryVisibilityMayVary.
struct EntryQuery {
  absl::string_view parent;  // the directory's path ("" = the root)
  absl::string_view name;    // one component
  bool is_dir = false;       // of the child
  // Of the child, as in Request (UNSPECIFIED: its name's extension decides).
  // Pass what the daemon's own LOOKUP of the child would pass.
  v1::FileClass content_class = v1::FILE_CLASS_UNSPECIFIED;
  std::optional<uint32_t> parent_owner;  // owner uid of the parent, if any
  std::optional<uint32_t> child_owner;   // owner uid of the child, if any
};

class Engine {
 public:
  // Validates and compiles `policy`; the engine's copy of the policy gets
  // `generation`. On failure InvalidArgument listing all validation errors
  // ("field: message" joined by "; ").
  // The first `grant_rules` rules may have the ids grants get
  // (policy/grants.h: WithGrants).
  static absl::StatusOr<std::shared_ptr<const Engine>> Compile(
      const v1::Policy& policy, uint64_t generation, int grant_rules = 0);

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The hot path: thread-safe, no heap allocation unless the path has more
  // than 24 components or the trie walk passes more than 16 lists.
  Verdict Decide(const Request& req) const;

  // Decide, with a human-readable reason ("rule 'media-redact' matched: app
  // com.example.social lacks media_location; ..."), the generation and the
  // app. Allocates; for the admin API and tests.
  v1::Decision Explain(const Request& req) const;

  // Whether a LOOKUP decision (its action) at `path` or at anything below it
  // can differ between callers (root and system uids included, which always
  // get ALLOW: so this is false only where every caller gets ALLOW).
  // Conservative: true if unsure, and for malformed paths. The daemon uses it
  // to choose kernel entry timeouts (0 when it can vary). Allocation-free in
  // the common case. O(1) when default_action is not ALLOW and no rule could
  // grant ALLOW to every caller in a whole subtree (the default policy);
  // else it walks the LOOKUP rules that may apply at or below `path` in
  // order, stopping at the first that decides (at the root: possibly all).
  bool VisibilityMayVary(absl::string_view path) const;

  // Whether the kernel must not keep the entry `q.name` of `q.parent` for
  // every caller (entry timeout 0): true when
  //   (a) two callers that may both look up the parent (LOOKUP of the parent
  //       VISIBLE: ALLOW or ALLOW_REDACTED, caller_is_owner when the caller's
  //       uid is q.parent_owner) could get a different visibility of the
  //       child (VISIBLE, DENY or HIDE; caller_is_owner when the uid is
  //       q.child_owner); or
  //   (b) the child could be HIDE for some caller, whether it may look up
  //       the parent or not, and not for another (a directory descriptor
  //       passed between apps reaches the child without a lookup of the
  //       parent: a hidden name must never be served from the cache).
  // Root always gets ALLOW, so this is: some caller gets HIDE for the child,
  // or some caller that may look up the parent gets DENY for it.
  // Visibility only: whether callers get different views of a file
  // (ALLOW_REDACTED for READ) is HasRedactionRules' business.
  // Conservative: true if unsure, for a malformed path or name, when a rule
  // with a uids condition (a grant) could match there, and when the
  // callers fall into more than 128 classes. Callers are enumerated by class
  // (app, or no app, per permission set; apps that a rule on the way names,
  // or whose name a {app} pattern could find in the path, one by one; the
  // Android users whose number a {user} pattern could find in the path, and
  // one user for all others; the two owner uids exactly), each decided by
  // the index as in Decide: a few decisions under the default policy, no
  // allocation in the common case.
  bool EntryVisibilityMayVary(const EntryQuery& q) const;

  // Whether a listing of `dir` could leave out a name for one caller and
  // show it to another: some direct child of `dir` (any name, class, owner)
  // could be HIDE for some caller (DENY entries are listed like visible
  // ones; root sees everything). That is: a LOOKUP rule with action HIDE
  // that some caller can satisfy has a pattern that could match a child of
  // `dir`, or default_action is HIDE and a lookup of a child could fall
  // through to it, in both cases unless an earlier rule without conditions
  // on the caller or the class matches every child first. The daemon
  // caches a listing for all callers only where this is false.
  // Conservative: true if unsure, and for a malformed path. Walks the trie
  // down `dir` and merges the HIDE and unconditional LOOKUP rules filed on
  // the way and one level below: O(depth + rules concerned).
  bool ListingMayVary(absl::string_view dir) const;

  uint64_t generation() const;
  // Whether any rule answers ALLOW_REDACTED: only then can two callers get
  // different views of a file.
  bool HasRedactionRules() const;
  // Whether any rule has an owner condition: only then does a decision need
  // Request.caller_is_owner (the daemon skips the owner store otherwise).
  bool UsesOwnership() const;
  // Whether any rule has a classes condition: only then can a file's content
  // change a verdict (the daemon reads no content otherwise).
  bool UsesClasses() const;
  // Whether a LOOKUP verdict can depend on a file's class (some rule that
  // decides LOOKUP has a classes condition): only then does
  // EntryQuery.content_class need the content.
  bool LookupUsesClasses() const;
  // Whether the rules do not apply to `uid` (root and system_uids: rule 2).
  bool Bypasses(uint32_t uid) const;
  // The app a caller with (uid, gid) is identified as (rule 3 above), or
  // null when it is none. Valid while the engine lives.
  const std::string* AppOf(uint32_t uid, uint32_t gid) const;
  // Whether the uid alone says which app a caller is (rule 3): some app
  // lists the uid, or no app is identified by gid. Only such a uid has a
  // per-app view (daemon/app_views.h), whose identity must not depend on
  // the gid of the process that uses it.
  bool IdentifiesByUid(uint32_t uid) const;
  // The compiled policy, with generation() set.
  const v1::Policy& policy() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace scopedfs::policy

#endif  // SCOPEDFS_POLICY_ENGINE_H_
