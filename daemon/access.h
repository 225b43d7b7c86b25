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
//
// Audit: every decision made here for a request (not the internal ones, such
// as the WRITE verdict that picks a view) becomes an audit event, handed to
// the audit log without waiting (audit/audit_log.h). Lookups are audited when
// they refuse (a hidden or denied name); readdir leaves hidden entries out
// and only counts them. A rule with `audit: false` is counted, not stored.
//
// Ownership: when the policy has owner rules, a decision on an existing file
// asks the owner store whether the caller's app created it; the Note*
// methods keep the store in step with the names made, removed and moved
// through the mount.
#ifndef SCOPEDFS_DAEMON_ACCESS_H_
#define SCOPEDFS_DAEMON_ACCESS_H_

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "audit/audit_log.h"
#include "audit/process_info.h"
#include "daemon/content_class.h"
#include "daemon/node_table.h"
#include "daemon/open_writers.h"
#include "daemon/policy_store.h"
#include "daemon/redacted_view.h"
#include "daemon/redaction_cache.h"
#include "daemon/stats.h"
#include "policy/decision_cache.h"
#include "redact/redact.h"
#include "scopedfs/v1/policy.pb.h"

struct fuse_req;

namespace scopedfs {

struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;  // For the audit trail only.
};

// Which outcomes of a decision go to the audit trail.
enum class AuditMode { kAlways, kIfRefused, kNever };

Caller CallerOf(fuse_req* req);

class AccessMediator {
 public:
  AccessMediator(PolicyStore* policy, NodeTable* nodes, Stats* stats)
      : policy_(policy), nodes_(nodes), stats_(stats), contents_(stats) {}

  // Opens for writing through the mount, per file (kept by the FUSE ops).
  OpenWriters& open_writers() { return open_writers_; }

  // The audit log and owner store; null (the default) means neither; with
  // `store_events` false, decisions are counted but not stored. Set before
  // the mount serves.
  void set_audit_log(audit::AuditLog* log, bool store_events) {
    audit_ = log;
    store_events_ = store_events;
  }

  // 0 to proceed, else the errno to answer.
  int CheckNode(const Caller& caller, Node* node, v1::Operation op);
  // `existing`: the file the name refers to, when the caller already has
  // its attributes (for the owner store; looked up when needed otherwise).
  int CheckName(const Caller& caller, Node* parent, absl::string_view name,
                v1::Operation op, bool is_dir,
                AuditMode audit = AuditMode::kAlways, int open_flags = 0,
                const struct stat* existing = nullptr);

  struct OpenVerdict {
    int err = 0;  // 0, or the errno to answer.
    // For an open of a redacted view: a read-only descriptor of the file
    // (the handle's, owned by the caller) and the view serving its reads,
    // planned on that descriptor.
    int fd = -1;
    std::unique_ptr<RedactedView> view;
  };
  // An open of `node` (READ or WRITE, `open_flags` for the audit trail),
  // view included. A redacted view is planned here, so the audit row says
  // what it redacts, and a file no redactor can vouch for is refused
  // (EACCES) whatever its name says.
  OpenVerdict CheckOpen(const Caller& caller, Node* node, v1::Operation op,
                        int open_flags);

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
                            absl::string_view name, const struct stat& st,
                            bool mediate, AuditMode audit);

  // True when the kernel may cache what it learns about `name` under
  // `parent` (or about `parent` itself when `name` is empty) for every
  // caller: no caller could be shown something different.
  bool SharedCacheAllowed(Node* parent, absl::string_view name);

  // Forgets cached decisions: after a directory rename, and after a policy
  // change (a new generation makes them misses anyway; this frees memory).
  void Clear() { cache_.Clear(); }

  // The owner store, after the change succeeded in the backing dir: `name`
  // under `parent` was made by `caller` (create, mknod, mkdir, symlink,
  // link) and is the file `st`...
  void NoteCreated(const Caller& caller, Node* parent, absl::string_view name,
                   const struct stat& st);
  // ...was removed (unlink, rmdir)...
  void NoteRemoved(Node* parent, absl::string_view name);
  // ...was renamed (its record, and for a directory those below it, move;
  // with `exchange` the two swap).
  void NoteRenamed(Node* from, absl::string_view name, Node* to,
                   absl::string_view newname, bool exchange);

 private:
  struct Target;
  // Decides `op` on `path` (the file `target`, if it exists). A decision
  // that a class condition took part in is made again with the file's
  // content class (read only then: Target::ContentClass); content that
  // cannot be read fails closed (DENY).
  policy::Verdict Decide(const policy::Engine& engine, const Caller& caller,
                         absl::string_view path, v1::Operation op, bool is_dir,
                         const Target& target);
  // Plans the redacted view of `node` for an allowed redacted open.
  void PlanView(const policy::Engine& engine, const policy::Verdict& verdict,
                Node* node, OpenVerdict* out, std::string* described);
  // After a decision: its latency, the debug trace line, and the audit
  // event as `audit` says.
  // `path_of` is called only when a trace line or a stored event needs the
  // path (building a node's path walks its parents).
  // `redaction`: what a redacted open redacted (audit rows only).
  void Finish(const policy::Engine& engine, const Caller& caller,
              absl::FunctionRef<std::string()> path_of, v1::Operation op,
              int open_flags, const policy::Verdict& verdict, int err,
              uint64_t latency_nanos, AuditMode audit,
              std::string redaction = {});
  // Hands a decision to be stored to the audit log.
  void Audit(const policy::Engine& engine, const Caller& caller,
             std::string path, v1::Operation op, int open_flags,
             const policy::Verdict& verdict, int err, uint64_t latency_nanos,
             std::string redaction);
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
  audit::AuditLog* audit_ = nullptr;
  bool store_events_ = false;
  // Callers' process names, read while their request is in flight.
  audit::SharedProcessInfoCache process_info_;
  policy::DecisionCache cache_;
  ContentClasses contents_;
  RedactionCache redactions_;
  OpenWriters open_writers_;
};

// The errno a decision means for an operation (0: proceed).
int ErrnoForAction(v1::Action action, v1::Operation op);

// The owner record of the file `st`, `name` under `dirfd`, for a file made
// by `uid` (the policy's app `app`, null if none): its inode and birth
// time, now. What NoteCreated records, and an admin's `scopedctl owner set`
// too. nullopt if the file is no longer that inode or its birth time
// cannot be read (record nothing: fail closed).
std::optional<audit::Owner> OwnerRecordFor(int dirfd, absl::string_view name,
                                           const struct stat& st,
                                           const std::string* app,
                                           uint32_t uid);
// The birth time of `name` under `dirfd` ("": `dirfd` itself) if it is
// still inode `ino` (0: its file system keeps none); nullopt if it cannot
// be told. For OwnerIndex::Get.
std::optional<int64_t> BirthNanosAt(int dirfd, absl::string_view name,
                                    uint64_t ino);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ACCESS_H_
