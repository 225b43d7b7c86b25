// Where every access through the mount is decided.
//
// The FUSE ops (daemon/fuse/) call these before they touch the backing tree:
//   lookup, readdir         -> LOOKUP   (HIDE: ENOENT, the entry is left out)
//   open                    -> READ or WRITE (by access mode, O_TRUNC)
//   create, mknod, mkdir, symlink, link -> CREATE on the new name
//   unlink, rmdir           -> DELETE
//   rename                  -> RENAME on the source; on the target RENAME if
//                              it exists, else CREATE
//   setattr, set/removexattr-> SETATTR (a size change is a WRITE)
// The policy engine (//policy) answers; DENY becomes EACCES, HIDE ENOENT.
//
// Views: a caller whose READ verdict for a regular file is ALLOW_REDACTED
// (and who may not write it) reaches the file through its redacted view, a
// node of its own (CheckLookup). An open then lands on the right
// view (CheckOpen); one on the other view answers ESTALE, and the kernel
// looks the name up again and retries. Writes through a redacted view are
// refused (EACCES).
// Node decisions are cached per (uid, gid, node name tag, operation,
// generation): a new policy generation is never answered from an old
// decision, and a renamed node is decided again (a directory rename clears
// the cache: every path below it changed).
//
// The kernel's own permission checks (default_permissions) still apply on
// top: the policy can only take access away, never grant what the backing
// file system refuses the caller.
#ifndef SCOPEDFS_DAEMON_ACCESS_H_
#define SCOPEDFS_DAEMON_ACCESS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "daemon/node_table.h"
#include "daemon/policy_store.h"
#include "daemon/stats.h"
#include "policy/decision_cache.h"
#include "redact/redact.h"
#include "scopedfs/v1/policy.pb.h"

struct fuse_req;

namespace scopedfs {

struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

Caller CallerOf(fuse_req* req);

class AccessMediator {
 public:
  AccessMediator(PolicyStore* policy, NodeTable* nodes, Stats* stats)
      : policy_(policy), nodes_(nodes), stats_(stats) {}

  // 0 to proceed, else the errno to answer.
  int CheckNode(const Caller& caller, Node* node, v1::Operation op);
  int CheckName(const Caller& caller, Node* parent, absl::string_view name,
                v1::Operation op, bool is_dir);

  struct OpenVerdict {
    int err = 0;            // 0, or the errno to answer.
    bool redacted = false;  // Serve the redacted view's bytes.
    redact::Profile profile;
  };
  // An open of `node` (READ or WRITE), view included.
  OpenVerdict CheckOpen(const Caller& caller, Node* node, v1::Operation op);

  struct LookupVerdict {
    int err = 0;  // With mediation: ENOENT for HIDE, EACCES for DENY.
    bool shared_cache_ok = true;  // As SharedCacheAllowed, views included.
    bool redacted = false;        // A regular file's redacted view.
  };
  // A lookup of `name` (file type `type`, S_IFMT bits) under `parent`: with
  // `mediate`, the LOOKUP verdict; whether the kernel may share the entry;
  // and which view of a regular file this caller gets. One path
  // computation, one engine.
  LookupVerdict CheckLookup(const Caller& caller, Node* parent,
                            absl::string_view name, mode_t type, bool mediate);

  // True when the kernel may cache what it learns about `name` under
  // `parent` (or about `parent` itself when `name` is empty) for every
  // caller: no caller could be shown something different.
  bool SharedCacheAllowed(Node* parent, absl::string_view name);

  // Forgets cached decisions: after a directory rename, and after a policy
  // change (a new generation makes them misses anyway; this frees memory).
  void Clear() { cache_.Clear(); }

 private:
  // `name` under `parent` as a policy path ("" name: the parent itself).
  std::string ChildPath(Node* parent, absl::string_view name) const;
  // Counts the outcome and maps it to an errno.
  int RecordOutcome(v1::Action action, v1::Operation op);

  // A verdict for `node`, from the cache when possible.
  policy::Verdict NodeVerdict(const Caller& caller, Node* node,
                              v1::Operation op, const policy::Engine& engine);

  PolicyStore* const policy_;
  NodeTable* const nodes_;
  Stats* const stats_;
  policy::DecisionCache cache_;
};

// The errno a decision means for an operation (0: proceed).
int ErrnoForAction(v1::Action action, v1::Operation op);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ACCESS_H_
